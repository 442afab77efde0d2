//! The config dialect as Rust types, from which its JSON Schema is generated (`host-test config-schema`, shipped
//! as `docs/config.schema.json`) so editors can validate and complete configs.
//!
//! These types describe what the connector's parser accepts; they are not used to parse. The engine's tests
//! compare the shipped schema's keys with the parser's own key lists, both ways, and this crate's tests check
//! that every seed and example config validates against it.

#![allow(dead_code)]

use schemars::JsonSchema;
use serde_json::Value;
use std::collections::BTreeMap;

/// A dlt `rest_api_source` config written as JSON. Secrets are never inline: `{"secret": "name"}` stands where
/// dlt had `dlt.secrets["name"]`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "rest_api_source config")]
struct Config {
    /// Settings shared by every resource.
    pub client: Client,
    /// Defaults merged into every resource as dlt merges them: shallow; `endpoint` keys replaced whole except
    /// `params` and `json` (merged one level deep); an explicit `null` resets a default.
    pub resource_defaults: Option<ResourceDefaults>,
    /// The resources, run in order: a name (its path too) or a resource object.
    pub resources: Vec<ResourceItem>,
}

/// A string, or a secret the host gives by name.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Text {
    /// The value itself.
    Plain(String),
    /// `{"secret": "name"}`: the value comes from the tenant's secret store.
    Secret(SecretRef),
}

/// A reference to a secret in the tenant's secret store.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct SecretRef {
    /// The secret's name.
    pub secret: String,
}

/// `client`: the base URL and what every request shares.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Client {
    /// The URL relative endpoint paths are joined to (dlt's `join_url`).
    pub base_url: Text,
    /// Headers sent with every request, as written (never interpolated).
    pub headers: Option<BTreeMap<String, Text>>,
    /// Auth for every resource (an endpoint's `auth` overrides it).
    pub auth: Option<AuthSetting>,
    /// The paginator when an endpoint names none.
    pub paginator: Option<PaginatorSetting>,
    /// Extension: retry settings for every resource.
    pub error_handler: Option<ErrorHandler>,
    /// Extension: the largest response body read, in bytes (default 32 MiB); a larger one fails the run.
    #[schemars(range(min = 1))]
    pub max_response_bytes: Option<u64>,
    /// Extension: the deepest nesting of arrays and objects a response may have (1 to 128, the default).
    #[schemars(range(min = 1, max = 128))]
    pub max_response_depth: Option<u32>,
    /// Extension: the most requests of `parallelized` resources in flight at once (1 to 64, default 8).
    #[schemars(range(min = 1, max = 64))]
    pub concurrency: Option<u32>,
    /// Extension: at most `requests` requests in any window of `per_seconds` seconds, shared by every request
    /// of the run (the OAuth2 token request included). The API's own `X-RateLimit-*`/`RateLimit-*` headers
    /// pause requests besides.
    pub rate_limit: Option<RateLimitSetting>,
}

/// Extension: `client.rate_limit`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct RateLimitSetting {
    /// Requests allowed in any window (1 to 100,000).
    #[schemars(range(min = 1, max = 100000))]
    pub requests: u32,
    /// The window, in seconds (above 0, at most 86,400).
    #[schemars(range(max = 86400))]
    pub per_seconds: f64,
}

/// A resource: its name or a full resource object.
#[derive(JsonSchema)]
#[serde(untagged)]
enum ResourceItem {
    /// A name, also the endpoint path.
    Name(String),
    /// A resource object.
    Resource(Box<Resource>),
}

/// A resource: where its rows come from and how they are to be written.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Resource {
    /// The resource name: required, unique.
    pub name: String,
    #[serde(flatten)]
    pub common: ResourceKeys,
}

/// `resource_defaults`: any resource key but `name`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResourceDefaults {
    #[serde(flatten)]
    pub common: ResourceKeys,
}

/// The keys a resource and `resource_defaults` share.
#[derive(JsonSchema)]
struct ResourceKeys {
    /// The endpoint: a path, or an endpoint object.
    pub endpoint: Option<EndpointItem>,
    /// The table the rows go to (default: the resource name).
    pub table_name: Option<String>,
    /// How rows are written: `append`, `replace`, `merge` or `skip`.
    pub write_disposition: Option<WriteDisposition>,
    /// The primary key column(s): the merge key of `merge` and the incremental dedup key.
    pub primary_key: Option<Columns>,
    /// The merge key column(s): `merge` replaces the rows sharing them (delete-insert).
    pub merge_key: Option<Columns>,
    /// Column hints by name (or a list of hints with `name`): `data_type`, `nullable`.
    pub columns: Option<ColumnHints>,
    /// False: the resource only feeds its children; its rows are not stored.
    pub selected: Option<bool>,
    /// Parent fields copied into each child row as `_<parent>_<field>`.
    pub include_from_parent: Option<Vec<String>>,
    /// Extension of dlt's key (Python callables there): declarative filters and maps, applied in order to each
    /// record after the data selector and before incremental filtering.
    pub processing_steps: Option<Vec<ProcessingStep>>,
    /// dlt hint, accepted; it changes no request.
    pub max_table_nesting: Option<Value>,
    /// Its requests may run beside others (up to `client.concurrency`); rows and requests stay a serial run's.
    pub parallelized: Option<bool>,
    /// dlt hint, accepted; it changes no request.
    pub schema_contract: Option<Value>,
    /// dlt hint, accepted; it changes no request.
    pub table_format: Option<Value>,
    /// dlt hint, accepted; it changes no request.
    pub file_format: Option<Value>,
    /// dlt hint, accepted; it changes no request.
    pub references: Option<Value>,
    /// dlt hint, accepted; it changes no request.
    pub parent_table_name: Option<Value>,
    /// dlt hint, accepted; it changes no request.
    pub nested_hints: Option<Value>,
}

/// One column name or several.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Columns {
    /// One column.
    One(String),
    /// Several columns.
    Many(Vec<String>),
}

/// `write_disposition`: a name, or dlt's object form.
#[derive(JsonSchema)]
#[serde(untagged)]
enum WriteDisposition {
    /// The disposition.
    Name(Disposition),
    /// `{"disposition": …}` (other keys, such as a merge `strategy`, are accepted).
    Object {
        /// The disposition.
        disposition: Disposition,
    },
}

/// How a resource's rows are written.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Disposition {
    /// Add the rows.
    Append,
    /// Replace the table with the run's rows, atomically at the run's end.
    Replace,
    /// Upsert on the primary key (delete-insert on the merge key, when given).
    Merge,
    /// Do not store the rows.
    Skip,
}

/// Column hints: by name, or a list of hints each with its `name`.
#[derive(JsonSchema)]
#[serde(untagged)]
enum ColumnHints {
    /// `{"column": {hints}}`.
    ByName(BTreeMap<String, ColumnHint>),
    /// `[{"name": "column", hints}]`.
    List(Vec<ColumnHint>),
}

/// What a column is declared to be.
#[derive(JsonSchema)]
struct ColumnHint {
    /// The column name (in the list form).
    pub name: Option<String>,
    /// dlt's data type.
    pub data_type: Option<DataType>,
    /// Whether the column may be null.
    pub nullable: Option<bool>,
}

/// dlt's data types.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum DataType {
    Text,
    Bigint,
    Double,
    Bool,
    Timestamp,
    Date,
    Time,
    Decimal,
    Json,
    Binary,
    Wei,
}

/// An endpoint: its path, or an endpoint object.
#[derive(JsonSchema)]
#[serde(untagged)]
enum EndpointItem {
    /// The path.
    Path(String),
    /// An endpoint object.
    Endpoint(Box<Endpoint>),
}

/// Where and how a resource's requests go.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Endpoint {
    /// The path (default: the resource name), joined to `base_url`. Placeholders: `{resources.<parent>.<field>}`,
    /// `{incremental.start_value}`, static and legacy `resolve` params; `{{`/`}}` for literal braces.
    pub path: Option<String>,
    /// `GET` (default) or `POST`.
    pub method: Option<Method>,
    /// Query parameters; a value may be `{"type": "resolve", …}` or a legacy `{"type": "incremental", …}`.
    pub params: Option<BTreeMap<String, Value>>,
    /// A JSON body (placeholders allowed; a string that is one placeholder keeps the value's type).
    pub json: Option<Value>,
    /// A form body (an object or pairs) or a raw string; not together with `json`.
    pub data: Option<Value>,
    /// Headers (interpolated, names too); they override the client's.
    pub headers: Option<BTreeMap<String, Text>>,
    /// The paginator (default: the client's, then detection from the first response).
    pub paginator: Option<PaginatorSetting>,
    /// A JSONPath to the record list (bare paths like `data.items` work); default: detected.
    pub data_selector: Option<String>,
    /// Responses that end the pagination loop without records: `{status_code?, content?, action: "ignore"}`.
    pub response_actions: Option<Vec<ResponseAction>>,
    /// Incremental loading.
    pub incremental: Option<Incremental>,
    /// Auth for this endpoint; `null` turns the client's off.
    pub auth: Option<AuthSetting>,
    /// Extension: retry settings for this endpoint (over the client's).
    pub error_handler: Option<ErrorHandler>,
    /// Extension: stop after this many pages (dlt's `add_limit`).
    pub max_pages: Option<u32>,
    /// Extension: `json` (default) or `jsonl`, a JSON Lines body whose lines are the records (no data selector,
    /// and no paginator that reads the body).
    pub response_format: Option<ResponseFormat>,
}

/// What a response body is.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ResponseFormat {
    /// One JSON document.
    Json,
    /// JSON Lines (NDJSON): one record a line.
    Jsonl,
}

/// A processing step: `filter`, `map`, or both (the filter first).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProcessingStep {
    /// Keep the records for which this RFC 9535 JSONPath filter expression holds, `@` being the record:
    /// `@.active == true && @.amount > 10`.
    pub filter: Option<String>,
    /// Change each record: set, then rename, then remove fields.
    pub map: Option<MapStep>,
}

/// `map`: field names are dotted paths (`a.b`).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct MapStep {
    /// Fields set: a value, or a string with `{field}` placeholders from the record (one placeholder alone keeps
    /// the value's type). A placeholder naming a field the record lacks fails the page.
    pub set: Option<BTreeMap<String, Value>>,
    /// Fields renamed, old name to new; onto a field the record has fails the page.
    pub rename: Option<BTreeMap<String, String>>,
    /// Fields removed.
    pub remove: Option<Vec<String>>,
}

/// An HTTP method.
#[derive(JsonSchema)]
#[allow(clippy::upper_case_acronyms)] // the variants are the schema's values
enum Method {
    GET,
    POST,
}

/// A response to ignore.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResponseAction {
    /// The status it applies to.
    pub status_code: Option<u16>,
    /// Text the body must contain.
    pub content: Option<String>,
    /// Only `ignore` is expressible in JSON.
    pub action: IgnoreAction,
}

/// The one response action a JSON config can name.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum IgnoreAction {
    /// End this pagination loop without records; never retried.
    Ignore,
}

/// Extension: how failed requests are retried.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct ErrorHandler {
    /// Statuses retried (default 429 and 5xx).
    pub retry_on_status_codes: Option<Vec<u16>>,
    /// Retries after the first attempt (default 4: five attempts).
    pub max_retries: Option<u32>,
    /// Backoff base in seconds (waits 1, 2, 4, 8 s by default).
    pub backoff_factor: Option<f64>,
    /// The longest wait in seconds (default 300).
    pub max_delay: Option<f64>,
    /// Seconds a connection, the first response byte, and each later byte may take (default 60).
    pub timeout: Option<f64>,
    /// The slowest a response body may arrive, in bytes per second over each `timeout` (default 1000; 0: no
    /// limit). A slower body fails the attempt like a timeout.
    pub low_speed_limit: Option<u64>,
}

/// `endpoint.incremental`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct Incremental {
    /// A JSONPath into each record: the cursor.
    pub cursor_path: String,
    /// The cursor's start value on a first run.
    pub initial_value: Option<Value>,
    /// An end value: the run is then stateless.
    pub end_value: Option<Value>,
    /// The query parameter that receives the start value.
    pub start_param: Option<String>,
    /// The query parameter that receives the end value.
    pub end_param: Option<String>,
    /// Go back this much from the last value (seconds or days, as in dlt).
    pub lag: Option<f64>,
    /// `asc` or `desc`: rows in cursor order allow stopping early.
    pub row_order: Option<String>,
    /// `raise` (default), `include` or `exclude`.
    pub on_cursor_value_missing: Option<String>,
    /// `closed` (default) or `open`.
    pub range_start: Option<String>,
    /// `open` (default) or `closed`.
    pub range_end: Option<String>,
    /// `max` (default) or `min`.
    pub last_value_func: Option<String>,
    /// The dedup key at the boundary (default: the resource's primary key).
    pub primary_key: Option<Columns>,
    /// Python callables in dlt: not expressible.
    pub convert: Option<Value>,
    /// Python callables in dlt: not expressible.
    pub transform: Option<Value>,
    /// dlt's scheduler hint.
    pub allow_external_schedulers: Option<bool>,
    /// Extension: ask for the cursor's range window by window, `[start, start + step)`, each paged to its end,
    /// from `initial_value` (or the stored cursor) to `end_value` (or now). Needs `start_param` and `end_param`.
    pub window: Option<IncrementalWindow>,
}

/// Extension: `incremental.window`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct IncrementalWindow {
    /// Each window's width: an ISO 8601 duration of weeks, days, hours, minutes, seconds (`P30D`, `PT6H`) for
    /// date-time and date cursors, or a number for numeric ones.
    pub step: Value,
    /// The next run starts this much before the stored cursor (same kind as `step`); records loaded already
    /// are not loaded again.
    pub lookback: Option<Value>,
}

/// A paginator: its type name, or a paginator object.
#[derive(JsonSchema)]
#[serde(untagged)]
enum PaginatorSetting {
    /// A paginator type with its defaults.
    Name(PaginatorType),
    /// A paginator with its settings.
    Paginator(Box<Paginator>),
}

/// Paginator type names.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum PaginatorType {
    JsonLink,
    JsonResponse,
    HeaderLink,
    HeaderCursor,
    Auto,
    SinglePage,
    Cursor,
    Offset,
    PageNumber,
}

/// A paginator with its settings, by `type`.
#[derive(JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Paginator {
    /// `limit` and `offset` in the query or body.
    Offset {
        limit: u64,
        offset: Option<u64>,
        offset_param: Option<String>,
        offset_body_path: Option<String>,
        limit_param: Option<String>,
        limit_body_path: Option<String>,
        /// Default `total`; `null` turns it off.
        total_path: Option<String>,
        maximum_offset: Option<u64>,
        stop_after_empty_page: Option<bool>,
        has_more_path: Option<String>,
        /// Extension: `raise` (dlt, default) fails on a page without a total; `fallback` lets the other stop
        /// rules decide.
        on_missing_total: Option<MissingTotal>,
    },
    /// A page number in the query or body.
    PageNumber {
        base_page: Option<i64>,
        page: Option<i64>,
        page_param: Option<String>,
        page_body_path: Option<String>,
        total_path: Option<String>,
        maximum_page: Option<i64>,
        stop_after_empty_page: Option<bool>,
        has_more_path: Option<String>,
        /// Extension: `raise` (dlt, default) fails on a page without a total; `fallback` lets the other stop
        /// rules decide.
        on_missing_total: Option<MissingTotal>,
    },
    /// A cursor from the body, sent back as a parameter.
    Cursor {
        cursor_path: Option<String>,
        cursor_param: Option<String>,
        cursor_body_path: Option<String>,
        stop_after_empty_page: Option<bool>,
        has_more_path: Option<String>,
        /// Extension: sent as the `limit` query parameter on every request.
        limit: Option<u64>,
        /// Extension: the cursor of the first request (for APIs that want `cursor=*` or `cursor=0` to start).
        initial_cursor: Option<Value>,
    },
    /// A next URL in the body.
    JsonLink { next_url_path: Option<String> },
    /// dlt's older name of `json_link`.
    JsonResponse { next_url_path: Option<String> },
    /// A `Link: rel="next"` header.
    HeaderLink { links_next_key: Option<String> },
    /// A cursor in a response header.
    HeaderCursor {
        cursor_key: Option<String>,
        cursor_param: Option<String>,
    },
    /// One request.
    SinglePage {},
    /// Detect from the first response.
    Auto {},
}

/// What a range paginator does with a page that gives no total.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum MissingTotal {
    /// Fail the run (dlt).
    Raise,
    /// Let `maximum_*`, `has_more_path` or `stop_after_empty_page` decide.
    Fallback,
}

/// Auth: an object with its `type`, or `{"token": …}` alone, which is bearer auth.
#[derive(JsonSchema)]
#[serde(untagged)]
enum AuthSetting {
    /// Auth with its `type`.
    Typed(Auth),
    /// Without `type`: bearer auth.
    Token(BearerToken),
}

/// Bearer auth written without `type`.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
struct BearerToken {
    /// The token.
    pub token: Text,
}

/// Auth, by `type`.
#[derive(JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Auth {
    /// `Authorization: Bearer <token>`.
    Bearer { token: Text },
    /// An API key in a header (default), the query (`query`/`param`) or a cookie.
    ApiKey {
        api_key: Text,
        /// Header, parameter or cookie name (default `Authorization`).
        name: Option<Text>,
        location: Option<KeyLocation>,
    },
    /// HTTP basic auth.
    HttpBasic { username: Text, password: Text },
    /// OAuth2 client credentials: a token fetched once, reused, refreshed on expiry.
    Oauth2ClientCredentials(OAuth2),
    /// The seeds' spelling of the same, with `token_url`.
    Oauth2(OAuth2),
}

/// OAuth2 client-credentials settings.
#[derive(JsonSchema)]
struct OAuth2 {
    /// The token endpoint (`token_url` is the same).
    pub access_token_url: Option<Text>,
    /// The token endpoint (`access_token_url` is the same).
    pub token_url: Option<Text>,
    pub client_id: Text,
    pub client_secret: Text,
    /// Extra form fields of the token request.
    pub access_token_request_data: Option<BTreeMap<String, Text>>,
    /// Seconds a token lives when the response gives no `expires_in` (default 3600).
    pub default_token_expiration: Option<u64>,
    /// A token to start with.
    pub access_token: Option<Text>,
    /// Extension: how the client authenticates to the token endpoint: `client_secret_post` (default, dlt's
    /// way: id and secret in the form) or `client_secret_basic` (an `Authorization: Basic` header).
    pub client_auth_method: Option<ClientAuthMethod>,
}

/// How an OAuth2 client authenticates to the token endpoint.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ClientAuthMethod {
    ClientSecretPost,
    ClientSecretBasic,
}

/// Where an API key goes.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum KeyLocation {
    Header,
    Query,
    Param,
    Cookie,
}

/// The config dialect's JSON Schema, pretty-printed, as shipped in `docs/config.schema.json`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
