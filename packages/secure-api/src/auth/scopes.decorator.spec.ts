import { Reflector } from '@nestjs/core';
import { Public } from './public.decorator.js';
import { readRouteRequirement } from './route-requirement.js';
import { Scopes } from './scopes.decorator.js';

class Plain {
  handler(): void {}
}

describe('@Scopes()', () => {
  it.each([['has space'], ['quote"'], ['back\\slash'], [''], ['tab\t'], ['é']])(
    'refuses %j, which is not an RFC 6749 scope token',
    (scope) => {
      expect(() => Scopes(scope)).toThrow(TypeError);
    },
  );

  it('accepts printable scope tokens', () => {
    expect(() => Scopes('profile.read', 'urn:x:y', 'a/b', 'c+d')).not.toThrow();
  });
});

describe('readRouteRequirement', () => {
  const reflector = new Reflector();

  function requirementOf(classDecorators: ClassDecorator[], methodDecorators: MethodDecorator[]) {
    class Target extends Plain {
      override handler(): void {}
    }
    Reflect.decorate(classDecorators, Target);
    Reflect.decorate(
      methodDecorators,
      Target.prototype,
      'handler',
      Object.getOwnPropertyDescriptor(Target.prototype, 'handler'),
    );
    return readRouteRequirement(reflector, Target.prototype.handler, Target);
  }

  it('combines class and handler scopes', () => {
    expect(requirementOf([Scopes('a', 'b')], [Scopes('b', 'c')])).toEqual({
      kind: 'scopes',
      scopes: ['a', 'b', 'c'],
    });
  });

  it('reports public, undeclared and conflicting routes', () => {
    expect(requirementOf([], [Public()])).toEqual({ kind: 'public' });
    expect(requirementOf([Public()], [])).toEqual({ kind: 'public' });
    expect(requirementOf([], [])).toEqual({ kind: 'undeclared' });
    expect(requirementOf([], [Public(), Scopes('a')])).toEqual({ kind: 'conflict' });
    expect(requirementOf([Public(), Scopes('a')], [])).toEqual({ kind: 'conflict' });
    expect(requirementOf([Public(), Scopes('a')], [Public()])).toEqual({ kind: 'conflict' });
  });

  it('lets the handler declaration override the class one', () => {
    expect(requirementOf([Scopes('a')], [Public()])).toEqual({ kind: 'public' });
    expect(requirementOf([Public()], [Scopes('b')])).toEqual({ kind: 'scopes', scopes: ['b'] });
  });

  it('treats @Scopes() without scopes as any valid token', () => {
    expect(requirementOf([], [Scopes()])).toEqual({ kind: 'scopes', scopes: [] });
  });
});
