/**
 * Injection token of the resolved, frozen {@link ResolvedSecureApiOptions}.
 *
 * @example
 * constructor(@Inject(SECURE_API_OPTIONS) private readonly options: ResolvedSecureApiOptions) {}
 */
export const SECURE_API_OPTIONS = Symbol('SECURE_API_OPTIONS');
