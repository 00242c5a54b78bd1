// The client scheme as the API defines it: value sets and defaults.

export const GRANT_TYPES = [
  "authorization_code",
  "implicit",
  "refresh_token",
  "client_credentials",
  "password",
  "urn:ietf:params:oauth:grant-type:device_code",
  "urn:ietf:params:oauth:grant-type:jwt-bearer",
  "urn:ietf:params:oauth:grant-type:token-exchange",
];
export const RESPONSE_TYPES = [
  "code",
  "token",
  "id_token",
  "code id_token",
  "code token",
  "id_token token",
  "code id_token token",
  "none",
];
export const RESPONSE_MODES = [
  "query",
  "fragment",
  "form_post",
  "query.jwt",
  "fragment.jwt",
  "form_post.jwt",
  "jwt",
];
export const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"];
export const DEFAULT_SCOPES = ["openid", "email", "profile", "offline_access"];
export const MAX_GRACE_SECONDS = 2592000;

export const WRITABLE = [
  "name",
  "redirect",
  "grantTypes",
  "responseTypes",
  "responseModes",
  "scopes",
  "firstParty",
  "authMethods",
];

export const LABELS = {
  id: "Client ID",
  secret: "Secret",
  name: "Name",
  redirect: "Redirect URIs",
  grantTypes: "Grant types",
  responseTypes: "Response types",
  responseModes: "Response modes",
  scopes: "Scopes",
  firstParty: "First party",
  authMethods: "Authentication methods",
};

export function defaultResponseTypes(grants) {
  if (grants.includes("authorization_code")) return ["code"];
  if (grants.includes("implicit")) return ["token"];
  return [];
}

export function defaultResponseModes(grants) {
  if (grants.includes("authorization_code")) return ["query"];
  if (grants.includes("implicit")) return ["fragment"];
  return [];
}

export function defaults() {
  const grantTypes = ["authorization_code"];
  return {
    id: "",
    name: "",
    redirect: [],
    grantTypes,
    responseTypes: defaultResponseTypes(grantTypes),
    responseModes: defaultResponseModes(grantTypes),
    scopes: [...DEFAULT_SCOPES],
    firstParty: false,
    authMethods: ["client_secret_post", "client_secret_basic"],
    secret: "",
  };
}
