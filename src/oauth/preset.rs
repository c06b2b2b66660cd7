//! The providers plazo knows by name: their OAuth2 endpoints and the scopes IMAP and SMTP need.
//! A leaf: the config reads it to fill in `[oauth2]`, the flows read it to sign in.

/// A provider's endpoints and the scopes IMAP and SMTP need.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The authorization endpoint (`{tenant}` is replaced for Microsoft).
    pub authorization_url: &'static str,
    /// The token endpoint.
    pub token_url: &'static str,
    /// The device authorization endpoint.
    pub device_url: &'static str,
    /// IMAP + SMTP scopes, and what is needed for a refresh token.
    pub scopes: &'static [&'static str],
    /// Extra parameters of the authorization request.
    pub authorize_params: &'static [(&'static str, &'static str)],
}

/// The presets: `google` and `microsoft`.
pub fn preset(name: &str) -> Option<Preset> {
    match name {
        // Google gives a refresh token only with access_type=offline, and again on a later
        // sign-in only with prompt=consent.
        "google" => Some(Preset {
            authorization_url: "https://accounts.google.com/o/oauth2/v2/auth",
            token_url: "https://oauth2.googleapis.com/token",
            device_url: "https://oauth2.googleapis.com/device/code",
            scopes: &["https://mail.google.com/"],
            authorize_params: &[("access_type", "offline"), ("prompt", "consent")],
        }),
        // Microsoft gives a refresh token only with offline_access.
        "microsoft" => Some(Preset {
            authorization_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            token_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            device_url: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
            scopes: &[
                "https://outlook.office.com/IMAP.AccessAsUser.All",
                "https://outlook.office.com/SMTP.Send",
                "offline_access",
            ],
            authorize_params: &[],
        }),
        _ => None,
    }
}
