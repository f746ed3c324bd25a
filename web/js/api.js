// REST client for /api/v1 (docs/protocol.md §11): tokens and the error schema.
//
// The access token lives in memory only. The refresh token is kept in sessionStorage so a
// reload of the tab can get a new access token (and resume an answer in flight, §15); it
// is rotated on every refresh and revoked on logout.

const REFRESH_KEY = "parley.refresh";

/** A refusal from the server, with its documented code (§5), or `offline`. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export class Api {
  constructor() {
    this.access = null;
    this.refreshToken = sessionStorage.getItem(REFRESH_KEY);
    this.onToken = () => {}; // a new access token (tell the socket)
    this.onSignedOut = () => {};
    this._timer = null;
    this._refreshing = null;
  }

  get canResume() {
    return Boolean(this.refreshToken);
  }

  async request(method, path, { json, form, auth = true, retry = true } = {}) {
    const headers = {};
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = new URLSearchParams(form);
    }
    if (auth && this.access) headers.Authorization = `Bearer ${this.access}`;
    let res;
    try {
      res = await fetch(`/api/v1${path}`, { method, headers, body });
    } catch {
      throw new ApiError(0, "offline", "Cannot reach the server. Check your connection and try again.");
    }
    if (res.status === 401 && auth && retry && this.refreshToken) {
      await this.refresh();
      return this.request(method, path, { json, form, auth, retry: false });
    }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || "internal", e.message || `The server answered ${res.status}.`, e.details);
    }
    return data;
  }

  get(path) { return this.request("GET", path); }
  post(path, json) { return this.request("POST", path, { json }); }
  put(path, json) { return this.request("PUT", path, { json }); }

  async login(email, password) {
    const pair = await this.request("POST", "/auth/token", { form: { username: email, password }, auth: false });
    this._adopt(pair);
  }

  async register(email, password, displayName) {
    await this.request("POST", "/auth/register", {
      json: { email, password, display_name: displayName }, auth: false,
    });
    await this.login(email, password);
  }

  /** Exchange the refresh token for a new pair; concurrent callers share one request. */
  refresh() {
    if (!this._refreshing) {
      this._refreshing = (async () => {
        try {
          const pair = await this.request("POST", "/auth/refresh", {
            json: { refresh_token: this.refreshToken }, auth: false,
          });
          this._adopt(pair);
        } catch (e) {
          if (e.status === 401) this._clear();
          throw e;
        } finally {
          this._refreshing = null;
        }
      })();
    }
    return this._refreshing;
  }

  async logout() {
    try {
      await this.request("POST", "/auth/logout", { json: { refresh_token: this.refreshToken }, retry: false });
    } catch {
      // Signed out locally whatever the server said: the tokens are dropped below.
    } finally {
      this._clear();
    }
  }

  _adopt(pair) {
    this.access = pair.access_token;
    this.refreshToken = pair.refresh_token;
    sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
    clearTimeout(this._timer);
    // Refresh at 80% of the lifetime, so the socket never sees its token expire (§2).
    const seconds = Math.max(5, (pair.expires_in || 1800) * 0.8);
    this._timer = setTimeout(() => this.refresh().catch(() => {}), seconds * 1000);
    this.onToken(this.access);
  }

  _clear() {
    const had = this.access || this.refreshToken;
    this.access = null;
    this.refreshToken = null;
    sessionStorage.removeItem(REFRESH_KEY);
    clearTimeout(this._timer);
    if (had) this.onSignedOut();
  }
}
