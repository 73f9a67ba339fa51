//! `NomqException` in Kotlin (`NomqError` in Swift): one variant per kind of the core's error
//! table ([`ErrorKind`], docs/architecture.md "Errors per layer"), so an application catches
//! `NomqException.AuthFailed` or `NomqException.PayloadTooLarge`, or the base class for all.
//! Each carries the kind's stable number (`code`, as C's `nomq_result` and Python's `code`),
//! a message, and for MQTT refusals the server's reason code.
//!
//! The variants are generated from the kind list below; the conversion from [`ErrorKind`] is
//! an exhaustive match, so a kind added to the table without a variant here does not compile.

use std::fmt;

use nomq_proto::ErrorKind;

macro_rules! error_kinds {
    ($($kind:ident),* $(,)?) => {
        /// A failed nomq call; the variant is the kind (see the module documentation).
        #[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
        pub enum NomqError {
            $(
                #[allow(missing_docs)]
                $kind {
                    /// The kind's stable number (C `nomq_result`, Python `NomqError.code`).
                    code: u32,
                    /// What failed, in words.
                    detail: String,
                    /// The MQTT server's reason code, for a refusal.
                    reason_code: Option<u8>,
                },
            )*
        }

        impl NomqError {
            /// An error of `kind`. `ErrorKind::Ok` is no error: asking for one is a bug, and
            /// it is reported as `Internal`.
            pub fn with_reason(kind: ErrorKind, detail: impl Into<String>, reason_code: Option<u8>) -> Self {
                let detail = detail.into();
                match kind {
                    ErrorKind::Ok => NomqError::Internal { code: ErrorKind::Internal.code(), detail, reason_code },
                    $(ErrorKind::$kind => NomqError::$kind { code: kind.code(), detail, reason_code },)*
                }
            }

            /// The kind in the core's table.
            pub fn kind(&self) -> ErrorKind {
                match self {
                    $(NomqError::$kind { .. } => ErrorKind::$kind,)*
                }
            }

            fn parts(&self) -> (&str, Option<u8>) {
                match self {
                    $(NomqError::$kind { detail, reason_code, .. } => (detail, *reason_code),)*
                }
            }
        }
    };
}

error_kinds!(
    NullPointer,
    InvalidArgument,
    BufferTooSmall,
    PayloadTooLarge,
    NotText,
    InvalidUrl,
    Malformed,
    UnsupportedVersion,
    AuthFailed,
    Stale,
    ConfigInvalid,
    Full,
    Dropped,
    Expired,
    DeliveryUnknown,
    MqttMalformed,
    MqttProtocol,
    MqttPacketTooLarge,
    MqttInvalidTopic,
    ConnectionRefused,
    SubscribeRefused,
    UnsubscribeRefused,
    PublishRefused,
    AuthRejected,
    Network,
    Tls,
    TimedOut,
    Closed,
    Panic,
    Internal,
);

impl NomqError {
    /// An error of `kind` without a reason code.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        NomqError::with_reason(kind, detail, None)
    }

    /// The same error, its detail prefixed with what it concerns, quoted (`"a/#": ...`).
    pub(crate) fn with_detail_prefix(self, what: &str) -> Self {
        let (detail, reason) = self.parts();
        NomqError::with_reason(self.kind(), format!("{what:?}: {detail}"), reason)
    }

    /// An invalid argument.
    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        NomqError::new(ErrorKind::InvalidArgument, detail)
    }
}

impl fmt::Display for NomqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (detail, reason) = self.parts();
        write!(f, "{detail} (nomq {})", self.kind().code())?;
        if let Some(r) = reason {
            write!(f, ", reason code 0x{r:02x}")?;
        }
        Ok(())
    }
}

impl std::error::Error for NomqError {}

impl From<nomq::Error> for NomqError {
    fn from(e: nomq::Error) -> Self {
        NomqError::with_reason(e.kind(), e.to_string(), e.reason_code().map(|r| r.0))
    }
}

impl From<nomq_proto::Error> for NomqError {
    fn from(e: nomq_proto::Error) -> Self {
        NomqError::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_the_table_has_its_own_variant_and_number() {
        for &kind in ErrorKind::ALL {
            let e = NomqError::new(kind, "x");
            if kind == ErrorKind::Ok {
                assert_eq!(e.kind(), ErrorKind::Internal);
                continue;
            }
            assert_eq!(e.kind(), kind);
            assert!(e.to_string().ends_with(&format!("(nomq {})", kind.code())), "{e}");
        }
    }

    #[test]
    fn a_refusal_keeps_the_servers_reason_code() {
        let e = NomqError::with_reason(ErrorKind::ConnectionRefused, "refused", Some(0x87));
        assert!(matches!(e, NomqError::ConnectionRefused { code: 504, reason_code: Some(0x87), .. }));
        assert_eq!(e.to_string(), "refused (nomq 504), reason code 0x87");
    }
}
