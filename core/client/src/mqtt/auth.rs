//! MQTT 5.0 enhanced authentication (§4.12): the method and initial data travel in CONNECT
//! (`SessionConfig::authentication_method`/`_data`); each AUTH challenge of the server is
//! answered by the application's [`Authenticator`], during the connection handshake and on
//! server-initiated re-authentication alike.

use std::fmt;
use std::sync::Arc;

type Respond = dyn Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync;

/// Answers the server's authentication challenges: gets the challenge data, returns the
/// response data, or a reason to give up (the connection attempt then fails with
/// [`Error::Auth`](crate::Error::Auth)).
#[derive(Clone)]
pub struct Authenticator(Arc<Respond>);

impl Authenticator {
    /// An authenticator from a function of the challenge data.
    pub fn new(respond: impl Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'static) -> Self {
        Authenticator(Arc::new(respond))
    }

    pub(super) fn respond(&self, challenge: &[u8]) -> Result<Vec<u8>, String> {
        (self.0)(challenge)
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator(..)")
    }
}
