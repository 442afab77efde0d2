//! Redirects, followed as Python's `requests` follows them: 301, 302 and 303 turn a POST into a GET without a
//! body (303 turns any method into GET); 307 and 308 keep the method and the body; at most
//! [`MAX_REDIRECTS`] hops, and a hop back to a request already made in the chain is a loop, hence an error.
//!
//! The credential rule holds on every hop: a hop to the origin (scheme, host, port) of the chain's first
//! request keeps the request as it was (and its API key in the query, if the Location dropped it); a hop to another origin loses `Authorization`, `Proxy-Authorization`,
//! `Cookie`, the API-key header and any header holding a secret, and is refused when its URL still holds one
//! or it would send a body again (a 307 or 308 keeps it, and a body may hold credentials no mask knows). As in
//! `requests`, `http` on port 80 to `https` on port 443 of the same host counts as the same origin. Each hop is an ordinary request, so the host's egress policy judges it like any other.

use super::{Engine, Exchange, Phase};
use crate::auth::{Auth, KeyLocation};
use crate::error::{Error, contains_secret};
use crate::request::{HttpRequest, HttpResponse, Method};

/// The most hops one request may take (`requests`' default).
pub const MAX_REDIRECTS: usize = 30;

/// Whether credentials may follow a hop from `from` to `to`: the same origin, or, as `requests` allows, the same
/// host going from `http` on port 80 to `https` on port 443.
fn same_site(from: &str, to: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(from), url::Url::parse(to)) else {
        return false;
    };
    if a.origin() == b.origin() {
        return true;
    }
    let upgrade = a.scheme() == "http"
        && b.scheme() == "https"
        && a.port_or_known_default() == Some(80)
        && b.port_or_known_default() == Some(443);
    upgrade && a.host_str() == b.host_str()
}

/// Statuses that are followed when they carry a `Location`.
fn followed(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

impl Engine {
    /// When the response to the request in flight is a redirect to follow, send its next hop (`Some(Ok)`), or
    /// fail with why it is not followed (`Some(Err)`). `None`: not a redirect to follow.
    pub(super) fn follow_redirect(&mut self, response: &HttpResponse) -> Option<Result<(), Error>> {
        let location = response.header("location")?;
        if !followed(response.status) {
            return None;
        }
        let Phase::InFlight(exchange) = std::mem::replace(&mut self.phase, Phase::Idle) else {
            return Some(self.fail(Error::Internal(
                "a redirect with no request in flight".into(),
            )));
        };
        Some(match self.next_hop(&exchange, response.status, location) {
            Ok(request) => {
                let note = format!(
                    "resource `{}`: status {} from {}; following the redirect to {} (said once per resource)",
                    self.exchange_name(&exchange),
                    response.status,
                    self.redact(exchange.frame, &exchange.request.url),
                    self.redact(exchange.frame, &request.url),
                );
                self.note_once(self.frames[exchange.frame].resource, "redirect", note);
                let mut hops = exchange.hops.clone();
                hops.push(exchange.request.clone());
                // Sent by the next poll, at once.
                self.phase = Phase::Waiting {
                    until_ms: 0,
                    exchange: Exchange {
                        request,
                        hops,
                        ..exchange
                    },
                };
                Ok(())
            }
            Err(message) => {
                let error = Error::BadResponse {
                    resource: self.exchange_name(&exchange),
                    url: self.redact(exchange.frame, &exchange.request.url),
                    message,
                };
                self.fail(error)
            }
        })
    }

    /// The request for the hop to `location`, or why it is not made.
    fn next_hop(
        &self,
        exchange: &Exchange,
        status: u16,
        location: &str,
    ) -> Result<HttpRequest, String> {
        let shown = |url: &str| self.redact(exchange.frame, url);
        let current = &exchange.request;
        let target = url::Url::parse(&current.url)
            .and_then(|base| base.join(location.trim()))
            .map_err(|e| {
                format!(
                    "status {status}: the Location `{}` is not a URL ({e})",
                    shown(location)
                )
            })?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(format!(
                "status {status}: a redirect to `{}` is not followed (not http or https)",
                shown(target.as_str())
            ));
        }
        if exchange.hops.len() >= MAX_REDIRECTS {
            return Err(format!(
                "more than {MAX_REDIRECTS} redirects (the last to {})",
                shown(target.as_str())
            ));
        }
        let mut request = current.clone();
        request.url = target.into();
        let to_get =
            status == 303 || (matches!(status, 301 | 302) && current.method == Method::Post);
        if to_get {
            request.method = Method::Get;
            request.body = None;
            request.headers.retain(|(k, _)| {
                !k.eq_ignore_ascii_case("content-type") && !k.eq_ignore_ascii_case("content-length")
            });
        }
        let first = exchange.hops.first().unwrap_or(current);
        match same_site(&first.url, &request.url) {
            true => self.keep_query_key(exchange.frame, first, &mut request),
            false => self.strip_credentials(exchange.frame, &mut request)?,
        }
        let chain = exchange.hops.iter().chain(std::iter::once(current));
        if chain
            .clone()
            .any(|r| r.url == request.url && r.method == request.method)
        {
            return Err(format!(
                "a redirect loop: {} redirects back to {}",
                shown(&current.url),
                shown(&request.url)
            ));
        }
        Ok(request)
    }

    /// A hop to the same origin keeps its API key in the query when the first request had it there and the
    /// Location dropped it.
    fn keep_query_key(&self, frame: usize, first: &HttpRequest, request: &mut HttpRequest) {
        let Some(Auth::ApiKey {
            name,
            value,
            location: KeyLocation::Query,
        }) = self.resource_of(frame).endpoint.auth.as_ref()
        else {
            return;
        };
        let has = |url: &str| {
            url::Url::parse(url).is_ok_and(|u| u.query_pairs().any(|(k, _)| k == name.as_str()))
        };
        if has(&first.url)
            && !has(&request.url)
            && let Ok(mut url) = url::Url::parse(&request.url)
        {
            url.query_pairs_mut().append_pair(name, value);
            request.url = url.into();
        }
    }

    /// A hop to another origin: no credential goes with it, or it is not made.
    fn strip_credentials(&self, frame: usize, request: &mut HttpRequest) -> Result<(), String> {
        let masks = self.masks();
        let (key_header, key_param) = match self.resource_of(frame).endpoint.auth.as_ref() {
            Some(Auth::ApiKey { name, location, .. }) => match location {
                KeyLocation::Header => (Some(name.as_str()), None),
                KeyLocation::Query => (None, Some(name.as_str())),
                _ => (None, None),
            },
            _ => (None, None),
        };
        if let Some(param) = key_param {
            request.url = crate::request::without_param(&request.url, param);
        }
        request.headers.retain(|(k, v)| {
            let named = ["authorization", "proxy-authorization", "cookie"]
                .iter()
                .chain(key_header.as_slice())
                .any(|n| k.eq_ignore_ascii_case(n));
            !named && !contains_secret(v, &masks)
        });
        let shown = self.redact(frame, &request.url);
        // A body kept by 307/308 may hold credentials no mask knows (a token request's client secret written
        // into the config, a short key): it never goes to another origin.
        if request.body.is_some() {
            return Err(format!(
                "a redirect to another origin ({shown}) would send the request body again; it is not followed"
            ));
        }
        if contains_secret(&request.url, &masks) {
            return Err(format!(
                "a redirect to another origin ({shown}) would carry a secret in its URL; it is not followed"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
