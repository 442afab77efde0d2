//! Response bodies in a content coding the host asks for (`gzip`, `deflate`, `br`, `zstd`), decoded as the guest
//! reads them.
//!
//! Decoding lives in the host's transport, like TLS and connection reuse: it runs natively (several times faster
//! than in wasm), it keeps the component small, and a component on another host that decodes nothing still works
//! (it asks for no coding itself and refuses a coded body by name). The decoded body is pulled a chunk at a time,
//! only as fast as the guest reads it, and the guest stops reading at `client.max_response_bytes`, so that cap
//! applies to the decoded bytes and a body that inflates a thousandfold stops at the cap: the host never holds
//! more than a chunk of it. The run's response-byte budget counts the bytes on the wire.

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use futures_util::TryStreamExt;
use http_body_util::{BodyDataStream, BodyExt, StreamBody};
use hyper::body::Frame;
use std::pin::Pin;
use tokio::io::AsyncRead;
use tokio_util::io::{ReaderStream, StreamReader};
use wasmtime_wasi_http::{Error as HttpError, WasiBody};

/// The `Accept-Encoding` the host sends when the request names none: every coding it decodes.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// The most decoded bytes handed to the guest at once.
const CHUNK: usize = 64 * 1024;

/// A content coding the host decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// `gzip` (or `x-gzip`).
    Gzip,
    /// `deflate`: zlib-wrapped deflate (RFC 9110).
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`.
    Zstd,
}

impl Coding {
    /// The coding a `Content-Encoding` value names, when it is exactly one the host decodes. A list of codings
    /// or an unknown one gives `None`: the body is passed on with its header, and the guest refuses it by name.
    pub fn of_header(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => Some(Self::Gzip),
            "deflate" => Some(Self::Deflate),
            "br" => Some(Self::Brotli),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
        }
    }
}

/// `body`, decoded from `coding` as it is read. An error of the body itself (a timeout, the byte budget) comes
/// through as it was; a body that does not decode fails with an error naming the coding.
pub fn decode(body: WasiBody, coding: Coding) -> WasiBody {
    let wire = StreamReader::new(BodyDataStream::new(body).map_err(std::io::Error::other));
    // A body may hold several gzip members or zstd frames, one after the other: all are decoded, as urllib3
    // decodes them (stopping after the first would drop the rest of the body).
    let decoder: Pin<Box<dyn AsyncRead + Send>> = match coding {
        Coding::Gzip => {
            let mut d = GzipDecoder::new(wire);
            d.multiple_members(true);
            Box::pin(d)
        }
        Coding::Deflate => Box::pin(ZlibDecoder::new(wire)),
        Coding::Brotli => Box::pin(BrotliDecoder::new(wire)),
        Coding::Zstd => {
            // RFC 9659's 8 MiB window for HTTP, not the 128 MiB a frame header could ask for.
            let mut d = ZstdDecoder::new_for_http(wire);
            d.multiple_members(true);
            Box::pin(d)
        }
    };
    let frames = ReaderStream::with_capacity(decoder, CHUNK)
        .map_ok(Frame::data)
        .map_err(move |e| {
            let message = e.to_string();
            match e.into_inner().map(|inner| inner.downcast::<HttpError>()) {
                Some(Ok(original)) => *original,
                _ => HttpError::HttpResponseContentCoding(Some(format!(
                    "the response body does not decode as {} (Content-Encoding): {message}",
                    coding.name()
                ))),
            }
        });
    StreamBody::new(frames).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codings_are_read_from_the_header() {
        assert_eq!(Coding::of_header("gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::of_header(" X-GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::of_header("deflate"), Some(Coding::Deflate));
        assert_eq!(Coding::of_header("br"), Some(Coding::Brotli));
        assert_eq!(Coding::of_header("zstd"), Some(Coding::Zstd));
        for other in ["compress", "gzip, br", "identity", ""] {
            assert_eq!(Coding::of_header(other), None, "{other}");
        }
    }
}
