// Refuses to measure a server that would answer the benchmark with errors, or a route that
// does not do what the benchmark says it does.

/**
 * Sends each check's request once, in order, and throws unless it gets the expected status
 * (and, when the check has `verify(json)`, unless that returns a falsy reason). A check:
 * `{ description, path, method?, headers?, body?, expected, verify? }`; `description` names
 * it in the error (`GET /secured without a token`).
 */
export async function preflightChecks(baseUrl, checks) {
  for (const check of checks) {
    const response = await fetch(`${baseUrl}${check.path}`, {
      method: check.method ?? 'GET',
      headers: check.headers ?? {},
      ...(check.body === undefined ? {} : { body: check.body }),
      signal: AbortSignal.timeout(5_000),
    });
    const text = await response.text();
    if (response.status !== check.expected) {
      throw new Error(
        `preflight: ${check.description} gave ${response.status}, expected ${check.expected}`,
      );
    }
    if (check.verify) {
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const problem = check.verify(json, response);
      if (problem) {
        throw new Error(`preflight: ${check.description}: ${problem} (got ${text.slice(0, 300)})`);
      }
    }
  }
}
