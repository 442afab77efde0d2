//! Building a frame's request: placeholders filled from the parent record (dlt §7), the paginator's position
//! applied, and credentials only for the trusted origin.

use super::Engine;
use crate::auth::{Auth, KeyLocation};
use crate::error::{Error, contains_secret, scrub_text};
use crate::incremental::{CursorState, Incremental};
use crate::paginator::{Paginator, Position};
use crate::redact::redact_url_with;
use crate::request::{Form, HttpRequest, RequestParts, origin};
use crate::select::Path;
use crate::template::{Lookup, render_str, render_value};
use serde_json::Value;

/// Placeholder values for one request: `resources.<parent>.<field>` from the parent record.
struct Scope<'a> {
    parent: Option<(&'a str, &'a Value)>,
    incremental: Option<(&'a Incremental, &'a CursorState)>,
    opaque: &'a [String],
}

impl Lookup for Scope<'_> {
    fn value(&self, name: &str) -> Result<Value, String> {
        if let Some(attr) = name.strip_prefix("incremental.") {
            let (inc, state) = self
                .incremental
                .ok_or_else(|| format!("placeholder `{{{name}}}` needs `incremental`"))?;
            return inc
                .placeholder(attr, state)
                .ok_or_else(|| format!("`{{{name}}}` is not an attribute of incremental"));
        }
        let Some((resource, field)) = name
            .strip_prefix("resources.")
            .and_then(|r| r.split_once('.'))
        else {
            return Err(format!("placeholder `{{{name}}}` has no value here"));
        };
        let Some((parent, record)) = self.parent.filter(|(p, _)| *p == resource) else {
            return Err(format!(
                "placeholder `{{{name}}}` needs a record of resource `{resource}`"
            ));
        };
        let path = Path::parse(field)?;
        path.first(record).cloned().ok_or_else(|| {
            let available: Vec<String> =
                record.as_object().map(|m| m.keys().map(|k| format!("'{k}'")).collect()).unwrap_or_default();
            format!(
                "Resource expects a field `{field}` to be present in the incoming data from resource `{parent}` in order to bind it to path param: `{name}`. Available parent fields are: [{}]",
                available.join(", ")
            )
        })
    }

    fn is_opaque(&self, text: &str) -> bool {
        self.opaque.iter().any(|o| o == text)
    }
}

/// A `data` value as a form (dict or pairs) or raw text.
fn form(data: &Value) -> Option<Form> {
    match data {
        Value::String(s) => Some(Form::Raw(s.clone())),
        Value::Object(m) => Some(Form::Pairs(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), crate::render::py_str(v)))
                .collect(),
        )),
        Value::Array(items) => Some(Form::Pairs(
            items
                .iter()
                .filter_map(|pair| match pair.as_array()?.as_slice() {
                    [k, v] => Some((crate::render::py_str(k), crate::render::py_str(v))),
                    _ => None,
                })
                .collect(),
        )),
        _ => None,
    }
}

/// The most characters of a URL in an error or a log line; longer ones lose their middle.
const MOST_URL_CHARS: usize = 300;

impl Engine {
    /// The request of a frame at its position (or, for a replay, at the position of its pending page).
    /// Credentials go only to the trusted origin: the base URL's (or, without a base URL, the endpoint's own).
    /// A next link elsewhere gets no auth and no header holding a secret; a body holding one is not sent.
    pub(super) fn page_request(&self, frame: usize, replay: bool) -> Result<HttpRequest, Error> {
        let f = &self.frames[frame];
        let position = match (&f.replay, replay) {
            (Some(state), true) => &state.from,
            _ => &f.position,
        };
        let parent = f.parent.as_ref().map(|(_, r)| r);
        self.request_at(f.resource, parent, f.found.as_ref(), position)
    }

    /// The request of resource `index` at `position`, for a child with its parent record, paged by the
    /// configured paginator or else the one `found` from its first response.
    pub(super) fn request_at(
        &self,
        index: usize,
        parent: Option<&Value>,
        found: Option<&Paginator>,
        position: &Position,
    ) -> Result<HttpRequest, Error> {
        let resource = &self.config.resources[index];
        let ep = &resource.endpoint;
        let parent_name = resource
            .parent
            .map(|p| self.config.resources[p].name.as_str());
        let incremental = ep.incremental.as_ref().zip(self.cursors[index].as_ref());
        let scope = Scope {
            parent: parent_name.zip(parent),
            incremental,
            opaque: &self.secrets,
        };
        let render_error = |message: String| Error::BadResponse {
            resource: resource.name.clone(),
            url: self.redact_for(index, &ep.url),
            message,
        };
        let mut parts = render_parts(ep, &scope).map_err(render_error)?;
        if let Some((inc, state)) = incremental {
            if let Some(param) = &inc.start_param {
                let start = inc.placeholder("start_value", state).unwrap_or(Value::Null);
                parts.set_param(param, start);
            }
            if let Some(param) = &inc.end_param {
                let end = inc.placeholder("end_value", state).unwrap_or(Value::Null);
                parts.set_param(param, end);
            }
        }
        if let Some(paginator) = ep.paginator.as_ref().or(found) {
            paginator.apply(position, &mut parts);
        }
        let trusted = origin(&self.config.base_url).or_else(|| origin(&parts_url_base(ep)));
        if trusted.is_some() && origin(&parts.url) == trusted {
            if let Some(auth) = &ep.auth {
                auth.apply(
                    &mut parts,
                    self.token.as_ref().map(|t| t.access_token.as_str()),
                );
            }
            return Ok(parts.finish(ep.retry.timeout_ms));
        }
        let masks = self.masks();
        parts.headers.retain(|(_, v)| !contains_secret(v, &masks));
        let request = parts.finish(ep.retry.timeout_ms);
        if request
            .body
            .as_ref()
            .is_some_and(|b| contains_secret(&String::from_utf8_lossy(b), &masks))
        {
            return Err(Error::BadResponse {
                resource: resource.name.clone(),
                url: self.redact_for(index, &request.url),
                message: "this request goes to another origin than the base URL's and its body holds a secret; it is not sent".into(),
            });
        }
        Ok(request)
    }

    /// The URL with credentials masked: dlt's sensitive names, the API-key parameter of the frame's resource,
    /// and every secret value in any encoding.
    pub(super) fn redact(&self, frame: usize, url: &str) -> String {
        self.redact_url(self.frames.get(frame).map(|f| f.resource), url)
    }

    /// [`Engine::redact`] for a request of resource `index`.
    pub(super) fn redact_for(&self, index: usize, url: &str) -> String {
        self.redact_url(Some(index), url)
    }

    fn redact_url(&self, index: Option<usize>, url: &str) -> String {
        let auth = index.and_then(|i| self.config.resources[i].endpoint.auth.as_ref());
        let key = match auth {
            Some(Auth::ApiKey {
                name,
                location: KeyLocation::Query,
                ..
            }) => Some(name.as_str()),
            _ => None,
        };
        let shown = scrub_text(&redact_url_with(url, key.as_slice()), &self.masks());
        crate::error::elide(&shown, MOST_URL_CHARS)
    }

    /// A next URL keeps no API key of ours in its query: the key is added again on the way out (and only to the
    /// trusted origin), so it never reaches a checkpoint and is never sent twice.
    pub(super) fn strip_auth_from_next(&self, frame: usize, next: Position) -> Position {
        let Position::NextUrl(link) = &next else {
            return next;
        };
        let auth = self.resource_of(frame).endpoint.auth.as_ref();
        let Some(Auth::ApiKey {
            name,
            location: KeyLocation::Query,
            ..
        }) = auth
        else {
            return next;
        };
        Position::NextUrl(crate::request::without_param(link, name))
    }
}

/// The endpoint's URL with its braces unescaped and placeholders dropped: good enough for its origin.
fn parts_url_base(ep: &crate::config::Endpoint) -> String {
    ep.url.split('{').next().unwrap_or_default().to_string()
}

/// The headers every request starts with, as `requests` sends them (config headers replace them by name):
/// `Accept: */*`, which any API answers (`application/json` gets a 406 from a JSON:API server), and a
/// `User-Agent`, which some APIs require. `Accept-Encoding` is the host's to set: it decodes what it asks for.
pub(crate) fn default_headers() -> Vec<(String, String)> {
    vec![
        ("User-Agent".into(), crate::request::USER_AGENT.into()),
        ("Accept".into(), "*/*".into()),
    ]
}

/// The endpoint's request parts with every template filled.
fn render_parts(ep: &crate::config::Endpoint, scope: &Scope<'_>) -> Result<RequestParts, String> {
    let mut params = Vec::new();
    for (k, v) in &ep.params {
        params.push((render_str(k, scope)?, render_value(v, scope, false)?));
    }
    let mut parts = RequestParts {
        method: ep.method,
        url: render_str(&ep.url, scope)?,
        params,
        headers: default_headers(),
        json: ep
            .json
            .as_ref()
            .map(|j| render_value(j, scope, true))
            .transpose()?,
        form: ep
            .data
            .as_ref()
            .map(|d| render_value(d, scope, false))
            .transpose()?
            .as_ref()
            .and_then(form),
    };
    for (k, v) in &ep.client_headers {
        parts.set_header(k, v);
    }
    for (k, v) in &ep.headers {
        parts.set_header(&render_str(k, scope)?, &render_str(v, scope)?);
    }
    Ok(parts)
}
