//! The envelope every JSON answer but the JWK Set is wrapped in.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A success: `{"success": true, "code": 0, "message": "OK", "data": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Envelope<T> {
    /// Always `true` here; [`crate::ErrorBody`] has `false`.
    #[schema(example = true)]
    pub success: bool,
    /// Always `0` on success.
    #[schema(example = 0)]
    pub code: u32,
    /// Always `"OK"` on success.
    #[schema(value_type = String, example = "OK")]
    pub message: Cow<'static, str>,
    /// The answer itself.
    pub data: T,
}

impl<T> Envelope<T> {
    /// The success envelope around `data`.
    pub fn ok(data: T) -> Self {
        Envelope {
            success: true,
            code: 0,
            message: Cow::Borrowed("OK"),
            data,
        }
    }
}
