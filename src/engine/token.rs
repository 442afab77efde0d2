//! The OAuth2 token: fetched before the first request that needs it and again once it expires, held in memory
//! only, and dropped after a 401 so that the page is asked for once more with a new one.

use super::{Engine, Exchange, Now, Phase, Purpose};
use crate::auth::{Auth, OAuth2};
use crate::error::Error;
use crate::request::{HttpRequest, HttpResponse};

impl Engine {
    /// The token request to send before the frame's request: its resource uses OAuth2 and no valid token is
    /// held.
    pub(super) fn token_request(&mut self, frame: usize, now: Now) -> Option<HttpRequest> {
        let resource = &self.config.resources[self.frames[frame].resource];
        let timeout_ms = resource.endpoint.retry.timeout_ms;
        let oauth = resource.endpoint.auth.as_ref().and_then(Auth::oauth2)?;
        // A token just fetched is used once even if it expires at once (dlt: `expires_in: 0` means a new
        // token for every request).
        let fresh = std::mem::take(&mut self.token_fresh);
        let valid = self
            .token
            .as_ref()
            .is_some_and(|t| t.serves(oauth) && (fresh || now.monotonic_ms < t.expires_at_ms));
        (!valid).then(|| oauth.token_request(timeout_ms))
    }

    /// A 401 to a page request of an OAuth2 resource drops the token; the page is asked for again with a new
    /// one, once (dlt does not refresh on 401). A second 401 fails as usual.
    pub(super) fn refresh_on_401(&mut self, response: &HttpResponse) -> bool {
        let Phase::InFlight(x) = &self.phase else {
            return false;
        };
        let oauth = self
            .resource_of(x.frame)
            .endpoint
            .auth
            .as_ref()
            .and_then(Auth::oauth2)
            .is_some();
        if response.status != 401 || x.purpose == Purpose::Token || !oauth || self.refreshed {
            return false;
        }
        let note = format!(
            "resource `{}`: status 401 from {}; fetching a new token and asking once more",
            self.exchange_name(x),
            self.redact(x.frame, &x.request.url)
        );
        self.notes.push(note);
        self.refreshed = true;
        self.token = None;
        self.phase = Phase::Idle;
        true
    }

    /// Hold the token a token response gives, or fail with an auth error when the response cannot be read.
    pub(super) fn take_token(
        &mut self,
        now: Now,
        exchange: &Exchange,
        response: &HttpResponse,
    ) -> Result<(), Error> {
        let auth = self.resource_of(exchange.frame).endpoint.auth.as_ref();
        let Some(oauth) = auth.and_then(Auth::oauth2) else {
            return self.fail(Error::Internal("a token without oauth2".into()));
        };
        let (token_url, client_id) = (oauth.token_url.clone(), oauth.client_id.clone());
        match oauth.parse_token(&response.body) {
            Ok(token) => {
                self.token_fresh = true;
                self.token = Some(Token {
                    token_url,
                    client_id,
                    access_token: token.access_token,
                    expires_at_ms: now
                        .monotonic_ms
                        .saturating_add(token.expires_in_s.saturating_mul(1000)),
                });
                Ok(())
            }
            Err(message) => {
                let resource = self.exchange_name(exchange);
                let url = self.redact(exchange.frame, &exchange.request.url);
                self.fail(Error::Auth {
                    resource,
                    url,
                    message,
                })
            }
        }
    }
}

/// An OAuth2 access token held in memory only.
#[derive(Debug, Clone)]
pub(super) struct Token {
    token_url: String,
    client_id: String,
    pub(super) access_token: String,
    expires_at_ms: u64,
}

impl Token {
    /// Whether the token is for this OAuth2 client.
    pub(super) fn serves(&self, oauth: &OAuth2) -> bool {
        self.token_url == oauth.token_url && self.client_id == oauth.client_id
    }

    /// Whether it is still good at this monotonic time.
    pub(super) fn good_at(&self, monotonic_ms: u64) -> bool {
        monotonic_ms < self.expires_at_ms
    }
}
