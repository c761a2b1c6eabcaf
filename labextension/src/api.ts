/**
 * Requests to the jupyter-mlops server routes (`/jupyter-mlops/api/...`).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Query parameters; undefined, null and empty values are left out of the URL. */
export type Query = Record<string, string | number | undefined | null>;

/**
 * A route answered with an error, or could not be reached.
 *
 * `status` is the HTTP code (0 when the server could not be reached); `message`
 * and `hint` are the server's own words from its `{"message", "hint"}` reply.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly hint: string | null = null
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** True for a 404: the section's data does not exist (yet). */
  get isNotFound(): boolean {
    return this.status === 404;
  }
}

/** Build the URL of a route, e.g. `apiUrl('runs', {page: 2})`. */
export function apiUrl(
  endpoint: string,
  query: Query = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): string {
  const url = URLExt.join(settings.baseUrl, 'jupyter-mlops', 'api', endpoint);
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') {
      params.set(key, String(value));
    }
  }
  const search = params.toString();
  return search ? `${url}?${search}` : url;
}

/**
 * GET a route and parse its JSON, e.g. `await requestAPI<IStatus>('status')`.
 *
 * Throws {@link ApiError} for any non-2xx answer or network failure.
 */
export async function requestAPI<T>(endpoint: string, query: Query = {}): Promise<T> {
  return send<T>(endpoint, query, {});
}

/**
 * POST a JSON body to a route, e.g. `await postAPI<IExportResult>('export', {path})`.
 *
 * JupyterLab's ServerConnection adds the XSRF token that the server requires of a
 * logged-in session. Throws {@link ApiError} like {@link requestAPI}.
 */
export async function postAPI<T>(endpoint: string, body: unknown): Promise<T> {
  return send<T>(endpoint, {}, { method: 'POST', body: JSON.stringify(body) });
}

/**
 * PATCH a route with a JSON body, e.g. `await patchAPI<IRunChanges>('runs/ID', {name})`;
 * XSRF and errors as {@link postAPI}.
 */
export async function patchAPI<T>(endpoint: string, body: unknown): Promise<T> {
  return send<T>(endpoint, {}, { method: 'PATCH', body: JSON.stringify(body) });
}

/**
 * DELETE a route, e.g. `await deleteAPI<IPurgeResult>('runs/ID', {confirm: 'true'})`;
 * XSRF and errors as {@link postAPI}.
 */
export async function deleteAPI<T>(endpoint: string, query: Query = {}): Promise<T> {
  return send<T>(endpoint, query, { method: 'DELETE' });
}

/**
 * GET a route's bytes (an artifact) as an object URL an `<img>` can show; the caller
 * revokes it once shown. Throws {@link ApiError} like {@link requestAPI}.
 */
export async function requestObjectUrl(endpoint: string): Promise<string> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(endpoint, {}, settings), {}, settings);
  } catch (error) {
    throw new ApiError(0, `The Jupyter server could not be reached: ${String(error)}`);
  }
  if (!response.ok) {
    throw new ApiError(response.status, `${response.status} from ${endpoint}`);
  }
  return URL.createObjectURL(await response.blob());
}

async function send<T>(endpoint: string, query: Query, init: RequestInit): Promise<T> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      apiUrl(endpoint, query, settings),
      init,
      settings
    );
  } catch (error) {
    throw new ApiError(0, `The Jupyter server could not be reached: ${String(error)}`);
  }
  const text = await response.text();
  let body: any = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string'
        ? body.message
        : `${response.status} ${response.statusText || 'error'} from ${endpoint}`;
    const hint = body && typeof body.hint === 'string' ? body.hint : null;
    throw new ApiError(response.status, message, hint);
  }
  if (body === null) {
    throw new ApiError(response.status, `The server answered ${endpoint} with no JSON.`);
  }
  return body as T;
}
