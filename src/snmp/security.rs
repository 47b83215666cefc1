//! From a configured profile (`venues.toml`) to the client's [`Security`]:
//! one place for the prober and the simulated agent, so both read a
//! profile the same way and the simulator needs nothing of the prober.

use std::sync::Arc;

use super::client::Security;
use super::usm::{AuthProto, PrivProto, UsmUser};
use crate::config::venues::{AuthProtocol, MIN_PASSPHRASE, PrivProtocol, Profile, Secret};

/// The client's security for a profile (passphrases hashed here, once), or
/// why it cannot be had. The prober polls with it and the simulator serves
/// the same profiles with it.
pub fn security_of(name: &str, profile: &Profile) -> Result<Security, String> {
    let secret = |s: &Secret| {
        s.resolve().ok_or_else(|| match s {
            Secret::Env(var) => format!("profile {name}: {var} is not set"),
            Secret::Literal(_) => format!("profile {name}: secret not set"),
        })
    };
    // RFC 3414 2.6: agents refuse to make a key of fewer characters, and
    // every request would fail as a wrong digest.
    let passphrase = |s: &Secret| {
        let pass = secret(s)?;
        if pass.chars().count() < MIN_PASSPHRASE {
            let what = match s {
                Secret::Env(var) => var.as_str(),
                Secret::Literal(_) => "a passphrase",
            };
            return Err(format!(
                "profile {name}: {what} is shorter than {MIN_PASSPHRASE} characters (SNMPv3 needs at least {MIN_PASSPHRASE})"
            ));
        }
        Ok(pass)
    };
    match profile {
        Profile::V2c { community } => Ok(Security::V2c {
            community: secret(community)?.into_bytes(),
        }),
        Profile::V3 {
            user,
            auth,
            auth_passphrase,
            privacy,
        } => {
            let auth_pass = passphrase(auth_passphrase)?;
            let privacy = match privacy {
                Some((p, s)) => Some((priv_proto(*p), passphrase(s)?)),
                None => None,
            };
            let user = UsmUser::new(
                user.as_bytes(),
                Some((auth_proto(*auth), auth_pass.as_bytes())),
                privacy.as_ref().map(|(p, pass)| (*p, pass.as_bytes())),
            );
            Ok(Security::V3 {
                user: Arc::new(user),
                context: Vec::new(),
            })
        }
    }
}

fn auth_proto(p: AuthProtocol) -> AuthProto {
    match p {
        AuthProtocol::Sha1 => AuthProto::Sha1,
        AuthProtocol::Sha256 => AuthProto::Sha256,
    }
}

fn priv_proto(p: PrivProtocol) -> PrivProto {
    match p {
        PrivProtocol::Aes128 => PrivProto::Aes128,
        PrivProtocol::Aes192 => PrivProto::Aes192,
        PrivProtocol::Aes192C => PrivProto::Aes192C,
        PrivProtocol::Aes256 => PrivProto::Aes256,
        PrivProtocol::Aes256C => PrivProto::Aes256C,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both AES-256 key extensions reach the client as what they are.
    #[test]
    fn privacy_names_map_to_their_key_extension() {
        for (name, want) in [
            ("aes256", PrivProto::Aes256),
            ("AES-256", PrivProto::Aes256),
            ("aes256c", PrivProto::Aes256C),
            ("AES-256-C", PrivProto::Aes256C),
            ("aes192c", PrivProto::Aes192C),
            ("aes", PrivProto::Aes128),
        ] {
            let p = PrivProtocol::from_name(name).expect(name);
            assert_eq!(priv_proto(p), want, "{name}");
        }
        assert_eq!(PrivProtocol::from_name("des"), None);
        assert_eq!(PrivProtocol::from_name("aes512"), None);
    }

    #[test]
    fn unset_secret_names_its_variable() {
        let p = Profile::V3 {
            user: "toc-poller".into(),
            auth: AuthProtocol::Sha256,
            auth_passphrase: Secret::Env("TOC_TEST_SURELY_UNSET_3F9A".into()),
            privacy: None,
        };
        assert_eq!(
            security_of("core-v3", &p).err(),
            Some("profile core-v3: TOC_TEST_SURELY_UNSET_3F9A is not set".to_owned())
        );
        let p = Profile::V2c {
            community: Secret::Literal("public".into()),
        };
        assert!(matches!(
            security_of("v2", &p),
            Ok(Security::V2c { community }) if community == b"public"
        ));
    }
}
