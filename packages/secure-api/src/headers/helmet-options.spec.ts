import { DEFAULT_HSTS, helmetOptionsFor } from './helmet-options.js';

describe('helmetOptionsFor', () => {
  it('adds one-year HSTS with subdomains over TLS', () => {
    expect(helmetOptionsFor({}, 'tls')).toEqual({
      strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    });
    expect(DEFAULT_HSTS).toEqual({ maxAge: 31_536_000, includeSubDomains: true });
  });

  it("lets the application's HSTS replace the default over TLS", () => {
    expect(
      helmetOptionsFor({ strictTransportSecurity: { maxAge: 60 }, xFrameOptions: false }, 'tls'),
    ).toEqual({ strictTransportSecurity: { maxAge: 60 }, xFrameOptions: false });
    expect(helmetOptionsFor({ strictTransportSecurity: false }, 'tls')).toEqual({
      strictTransportSecurity: false,
    });
  });

  it('turns HSTS off over plain HTTP whatever the application set (RFC 6797 §7.2)', () => {
    expect(
      helmetOptionsFor({ strictTransportSecurity: { maxAge: 60 }, referrerPolicy: false }, 'plain'),
    ).toEqual({ strictTransportSecurity: false, referrerPolicy: false });
  });

  it('drops the hsts alias, which would clash with strictTransportSecurity', () => {
    expect(helmetOptionsFor({ hsts: { maxAge: 60 } }, 'tls')).toEqual({
      strictTransportSecurity: DEFAULT_HSTS,
    });
  });
});
