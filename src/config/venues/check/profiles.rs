//! Validation of `[profiles.NAME]`: SNMP credential profiles, v2c and v3,
//! and a warning for each secret variable a used profile needs but the
//! environment lacks.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::config::venues::cx::Cx;
use crate::config::venues::model::{
    AuthProtocol, Device, MIN_PASSPHRASE, PrivProtocol, Profile, Secret,
};
use crate::config::venues::raw::{RawProfile, RawProfileEntry};

/// A valid profile and the span of its name.
pub(super) struct DefinedProfile {
    pub(super) span: Range<usize>,
    pub(super) profile: Profile,
}

/// Whether `s` can name an environment variable.
pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An error was found and reported; the caller only stops.
#[derive(Debug)]
struct Reported;

impl Cx<'_> {
    /// Checks every profile; the valid ones by name.
    pub(super) fn validate_profiles(
        &mut self,
        raw: Vec<RawProfileEntry>,
    ) -> BTreeMap<String, DefinedProfile> {
        let mut out = BTreeMap::new();
        for RawProfileEntry { name, body } in raw {
            let Some(p) = body else { continue };
            if let Some(profile) = self.validate_profile(name.get_ref(), p) {
                out.insert(
                    name.get_ref().clone(),
                    DefinedProfile {
                        span: name.span(),
                        profile,
                    },
                );
            } else {
                self.broken.insert(format!("profile:{}", name.get_ref()));
            }
        }
        out
    }

    /// Checks one profile by its version.
    fn validate_profile(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        let version = p.version.get_ref().to_ascii_lowercase();
        match version.as_str() {
            "v2c" | "2c" => self.validate_v2c(name, p),
            "v3" | "3" => self.validate_v3(name, p),
            "v1" | "1" => {
                self.error(
                    p.version.span(),
                    format!("SNMP v1 is not supported (profile `{name}`)"),
                    "use \"v2c\" or \"v3\": v1 has no 64-bit counters and no GETBULK",
                );
                None
            }
            other => {
                self.error(
                    p.version.span(),
                    format!("unknown SNMP version `{other}` in profile `{name}`"),
                    "use \"v2c\" or \"v3\"",
                );
                None
            }
        }
    }

    /// Reports keys that belong to another SNMP version.
    fn not_for_version(
        &mut self,
        name: &str,
        version: &str,
        keys: &[(Option<&Spanned<String>>, &str)],
    ) {
        for (field, key) in keys {
            if let Some(f) = field {
                self.error(
                    f.span(),
                    format!("`{key}` does not apply to an SNMP {version} profile (`{name}`)"),
                    format!("remove `{key}`, or change the profile's version"),
                );
            }
        }
    }

    /// Checks a v2c profile: a community, literal or from the environment.
    fn validate_v2c(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        self.not_for_version(
            name,
            "v2c",
            &[
                (p.user.as_ref(), "user"),
                (p.auth.as_ref(), "auth"),
                (p.auth_passphrase_env.as_ref(), "auth_passphrase_env"),
                (p.privacy.as_ref(), "privacy"),
                (p.privacy_passphrase_env.as_ref(), "privacy_passphrase_env"),
            ],
        );
        match (p.community, p.community_env) {
            (Some(c), None) => Some(Profile::V2c {
                community: Secret::Literal(c.into_inner()),
            }),
            (None, Some(e)) => {
                self.check_env_name(&e);
                Some(Profile::V2c {
                    community: Secret::Env(e.into_inner()),
                })
            }
            (Some(c), Some(_)) => {
                self.error(
                    c.span(),
                    format!("profile `{name}` sets both `community` and `community_env`"),
                    "keep one: the community itself, or the environment variable that holds it",
                );
                None
            }
            (None, None) => {
                self.error(
                    p.version.span(),
                    format!("v2c profile `{name}` has no community"),
                    "add community = \"...\" or community_env = \"VARIABLE\"",
                );
                None
            }
        }
    }

    /// Checks a v3 profile: user, auth and optional privacy.
    fn validate_v3(&mut self, name: &str, p: RawProfile) -> Option<Profile> {
        self.not_for_version(
            name,
            "v3",
            &[
                (p.community.as_ref(), "community"),
                (p.community_env.as_ref(), "community_env"),
            ],
        );
        for (field, key) in [
            (&p.user, "user"),
            (&p.auth, "auth"),
            (&p.auth_passphrase_env, "auth_passphrase_env"),
        ] {
            if field.is_none() {
                self.error(
                    p.version.span(),
                    format!("v3 profile `{name}` has no `{key}`"),
                    format!("add {key} = \"...\"; see docs/config.md"),
                );
            }
        }
        let auth = p.auth.as_ref().and_then(|a| {
            let parsed = match a.get_ref().to_ascii_lowercase().as_str() {
                "sha" | "sha1" => Some(AuthProtocol::Sha1),
                "sha256" | "sha-256" => Some(AuthProtocol::Sha256),
                _ => None,
            };
            if parsed.is_none() {
                self.error(
                    a.span(),
                    format!(
                        "unknown auth protocol `{}` in profile `{name}`",
                        a.get_ref()
                    ),
                    "use `sha` or `sha256` (MD5 is not accepted)",
                );
            }
            parsed
        });
        if let Some(e) = &p.auth_passphrase_env {
            self.check_env_name(e);
            self.check_passphrase_length(name, e);
        }
        let privacy =
            self.validate_privacy(name, p.privacy.as_ref(), p.privacy_passphrase_env.as_ref());
        Some(Profile::V3 {
            user: p.user?.into_inner(),
            auth: auth?,
            auth_passphrase: Secret::Env(p.auth_passphrase_env?.into_inner()),
            privacy: privacy.ok()?,
        })
    }

    /// `Ok(None)` for `authNoPriv`, `Ok(Some(..))` for `authPriv`.
    fn validate_privacy(
        &mut self,
        name: &str,
        privacy: Option<&Spanned<String>>,
        env: Option<&Spanned<String>>,
    ) -> Result<Option<(PrivProtocol, Secret)>, Reported> {
        match (privacy, env) {
            (None, None) => Ok(None),
            (Some(pr), Some(env)) => {
                self.check_env_name(env);
                self.check_passphrase_length(name, env);
                let Some(protocol) = PrivProtocol::from_name(pr.get_ref()) else {
                    self.error(
                        pr.span(),
                        format!(
                            "unknown privacy protocol `{}` in profile `{name}`",
                            pr.get_ref()
                        ),
                        "use `aes128`, `aes256` (net-snmp's AES-256) or `aes256c` (Cisco's, net-snmp's AES-256-C); also `aes192`, `aes192c` (DES is not accepted)",
                    );
                    return Err(Reported);
                };
                Ok(Some((protocol, Secret::Env(env.get_ref().clone()))))
            }
            (Some(pr), None) => {
                self.error(
                    pr.span(),
                    format!("profile `{name}` sets `privacy` without `privacy_passphrase_env`"),
                    "add privacy_passphrase_env = \"VARIABLE\", or remove privacy for authNoPriv",
                );
                Err(Reported)
            }
            (None, Some(env)) => {
                self.error(
                    env.span(),
                    format!("profile `{name}` sets `privacy_passphrase_env` without `privacy`"),
                    "add privacy = \"aes128\" or \"aes256\", or remove the passphrase",
                );
                Err(Reported)
            }
        }
    }

    /// Refuses a passphrase, set in the environment now, shorter than the
    /// 8 characters RFC 3414 (2.6) requires: agents refuse to build a key
    /// from it, and every request would then fail as a wrong digest.
    fn check_passphrase_length(&mut self, name: &str, env: &Spanned<String>) {
        let var = env.get_ref();
        if !is_env_name(var) {
            return;
        }
        if let Some(value) = std::env::var_os(var)
            && !value.is_empty()
            && value.to_string_lossy().chars().count() < MIN_PASSPHRASE
        {
            self.error(
                env.span(),
                format!(
                    "the passphrase in `{var}` (profile `{name}`) is shorter than {MIN_PASSPHRASE} characters"
                ),
                format!("SNMPv3 (RFC 3414) needs at least {MIN_PASSPHRASE}: agents refuse shorter ones as a wrong digest"),
            );
        }
    }

    /// Reports a value that cannot name an environment variable.
    fn check_env_name(&mut self, env: &Spanned<String>) {
        if !is_env_name(env.get_ref()) {
            self.error(
                env.span(),
                format!("`{}` is not an environment variable name", env.get_ref()),
                "name the variable that holds the secret (letters, digits, `_`), not the secret itself",
            );
        }
    }

    /// Warns of unset secret variables of the profiles devices use.
    pub(super) fn check_secrets(
        &mut self,
        profiles: &BTreeMap<String, DefinedProfile>,
        devices: &[Device],
    ) {
        for (name, DefinedProfile { span, profile }) in profiles {
            if !devices
                .iter()
                .any(|d| d.profile.as_deref() == Some(name.as_str()))
            {
                continue;
            }
            let vars: Vec<&str> = match profile {
                Profile::V2c {
                    community: Secret::Env(v),
                } => vec![v],
                Profile::V2c { .. } => vec![],
                Profile::V3 {
                    auth_passphrase,
                    privacy,
                    ..
                } => {
                    let mut v = Vec::new();
                    if let Secret::Env(a) = auth_passphrase {
                        v.push(a.as_str());
                    }
                    if let Some((_, Secret::Env(p))) = privacy {
                        v.push(p.as_str());
                    }
                    v
                }
            };
            for var in vars {
                if std::env::var_os(var).is_none_or(|v| v.is_empty()) {
                    self.warning(
                        span.clone(),
                        format!(
                            "environment variable `{var}` of profile `{name}` is not set (or empty)"
                        ),
                        format!("export {var} before `toc run`, or its devices cannot be polled"),
                    );
                }
            }
        }
    }
}
