/** JSON requests to a running nbferry service (its Bearer token), as the tests and benchmarks make them. */

export interface ServiceResponse<T> {
  status: number;
  /** The parsed JSON body; undefined when the response had none. */
  body: T;
}

export async function serviceRequest<T>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<ServiceResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
