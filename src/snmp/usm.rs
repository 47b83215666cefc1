//! The User-based Security Model: key localization and authentication
//! (RFC 3414; HMAC-SHA-96, and HMAC-SHA-256-192 from RFC 7860) and AES
//! privacy (RFC 3826; AES-192 and AES-256 keys extended either as
//! net-snmp's `AES-256` does, after the Blumenthal draft, or as its
//! `AES-256-C` and Cisco do, after the Reeder 3DES draft).
//!
//! Turning a passphrase into a key hashes a megabyte, so [`UsmUser`] does
//! it once and [`UsmUser::localize`] then costs one hash per engine.

use std::fmt;
use std::ops::Range;

use aes::cipher::{AsyncStreamCipher, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthProto {
    /// `usmHMACSHAAuthProtocol` (HMAC-SHA-96).
    Sha1,
    /// `usmHMAC192SHA256AuthProtocol`.
    Sha256,
}

impl AuthProto {
    /// Length of the authentication parameters on the wire.
    pub fn mac_len(self) -> usize {
        match self {
            AuthProto::Sha1 => 12,
            AuthProto::Sha256 => 24,
        }
    }

    fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            AuthProto::Sha1 => {
                let mut h = Sha1::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
            AuthProto::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // Any key length is valid for HMAC, so these cannot fail.
        match self {
            AuthProto::Sha1 => Hmac::<Sha1>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
            AuthProto::Sha256 => Hmac::<Sha256>::new_from_slice(key)
                .map(|m| m.chain_update(data).finalize().into_bytes().to_vec())
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for AuthProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthProto::Sha1 => "SHA",
            AuthProto::Sha256 => "SHA-256",
        })
    }
}

/// Privacy protocol. AES keys longer than the authentication hash are
/// extended, and two incompatible extensions are in use: an agent only
/// answers the one it was configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrivProto {
    /// `usmAesCfb128Protocol` (RFC 3826).
    Aes128,
    /// AES-192 in CFB mode, key extended as in the Blumenthal draft
    /// (net-snmp `AES-192`, pysnmp `AES192BLMT`).
    Aes192,
    /// AES-192, key extended as in the Reeder draft (net-snmp `AES-192-C`,
    /// pysnmp `AES192`, Cisco).
    Aes192C,
    /// AES-256 in CFB mode, key extended as in the Blumenthal draft
    /// (net-snmp `AES-256`, pysnmp `AES256BLMT`).
    Aes256,
    /// AES-256, key extended as in the Reeder draft (net-snmp `AES-256-C`,
    /// pysnmp `AES256`, Cisco).
    Aes256C,
}

impl PrivProto {
    fn key_len(self) -> usize {
        match self {
            PrivProto::Aes128 => 16,
            PrivProto::Aes192 | PrivProto::Aes192C => 24,
            PrivProto::Aes256 | PrivProto::Aes256C => 32,
        }
    }

    /// Whether the key is extended the Reeder way (localize the hash of the
    /// key so far as if it were a passphrase) instead of Blumenthal's
    /// (append the hash of the key so far).
    fn reeder(self) -> bool {
        matches!(self, PrivProto::Aes192C | PrivProto::Aes256C)
    }

    /// The key extension in words, for the hint of a silent agent (`None`
    /// for AES-128, whose key needs no extension).
    pub fn key_extension(self) -> Option<&'static str> {
        match self {
            PrivProto::Aes128 => None,
            PrivProto::Aes192 | PrivProto::Aes256 => Some("net-snmp's (Blumenthal)"),
            PrivProto::Aes192C | PrivProto::Aes256C => Some("Cisco's (Reeder)"),
        }
    }
}

impl fmt::Display for PrivProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // net-snmp's names (`-x`), which agents' configs use too.
        f.write_str(match self {
            PrivProto::Aes128 => "AES",
            PrivProto::Aes192 => "AES-192",
            PrivProto::Aes192C => "AES-192-C",
            PrivProto::Aes256 => "AES-256",
            PrivProto::Aes256C => "AES-256-C",
        })
    }
}

/// RFC 3414 A.2: a passphrase hashed over one megabyte of its repetition.
pub fn password_to_key(proto: AuthProto, passphrase: &[u8]) -> Vec<u8> {
    if passphrase.is_empty() {
        return proto.hash(&[]);
    }
    let mut chunk = [0u8; 64];
    let mut idx = 0;
    match proto {
        AuthProto::Sha1 => {
            let mut h = Sha1::new();
            for _ in 0..(1_048_576 / 64) {
                for b in &mut chunk {
                    *b = passphrase[idx % passphrase.len()];
                    idx += 1;
                }
                h.update(chunk);
            }
            h.finalize().to_vec()
        }
        AuthProto::Sha256 => {
            let mut h = Sha256::new();
            for _ in 0..(1_048_576 / 64) {
                for b in &mut chunk {
                    *b = passphrase[idx % passphrase.len()];
                    idx += 1;
                }
                h.update(chunk);
            }
            h.finalize().to_vec()
        }
    }
}

/// RFC 3414 A.2: a master key localized to one engine.
pub fn localize(proto: AuthProto, master: &[u8], engine_id: &[u8]) -> Vec<u8> {
    proto.hash(&[master, engine_id, master])
}

/// A localized privacy key extended to the length `pp` needs.
///
/// Blumenthal (draft-blumenthal-aes-usm-04 3.1.2.1, net-snmp `AES-256`):
/// append H(key so far). Reeder (draft-reeder-snmpv3-usm-3desede 2.1,
/// net-snmp `AES-256-C`, Cisco): append the key so far turned into a key
/// as if it were a passphrase and localized to the engine.
pub fn extend(ap: AuthProto, pp: PrivProto, mut key: Vec<u8>, engine_id: &[u8]) -> Vec<u8> {
    while key.len() < pp.key_len() {
        let more = if pp.reeder() {
            localize(ap, &password_to_key(ap, &key), engine_id)
        } else {
            ap.hash(&[&key])
        };
        key.extend_from_slice(&more);
    }
    key.truncate(pp.key_len());
    key
}

/// A USM user with its master keys, ready to be localized to any engine.
#[derive(Clone)]
pub struct UsmUser {
    pub name: Vec<u8>,
    fingerprint: Vec<u8>,
    auth: Option<(AuthProto, Vec<u8>)>,
    privacy: Option<(PrivProto, Vec<u8>)>,
}

impl fmt::Debug for UsmUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsmUser")
            .field("name", &String::from_utf8_lossy(&self.name))
            .field("auth", &self.auth.as_ref().map(|(p, _)| p))
            .field("privacy", &self.privacy.as_ref().map(|(p, _)| p))
            .finish_non_exhaustive()
    }
}

impl UsmUser {
    /// A user; passphrases are hashed here (a few milliseconds each).
    /// Privacy without authentication is not a USM level and is ignored.
    pub fn new(
        name: &[u8],
        auth: Option<(AuthProto, &[u8])>,
        privacy: Option<(PrivProto, &[u8])>,
    ) -> Self {
        let auth = auth.map(|(p, pass)| (p, password_to_key(p, pass)));
        let privacy = match (&auth, privacy) {
            (Some((ap, _)), Some((pp, pass))) => Some((pp, password_to_key(*ap, pass))),
            _ => None,
        };
        // The protocols too: the same passphrase makes another key under
        // another protocol or key extension.
        let protocols = format!(
            "{:?}/{:?}",
            auth.as_ref().map(|(p, _)| p),
            privacy.as_ref().map(|(p, _)| p)
        );
        let mut parts: Vec<&[u8]> = vec![name, b"\0", protocols.as_bytes(), b"\0"];
        if let Some((_, k)) = &auth {
            parts.push(k);
        }
        parts.push(b"\0");
        if let Some((_, k)) = &privacy {
            parts.push(k);
        }
        let fingerprint = AuthProto::Sha256.hash(&parts);
        Self {
            name: name.to_vec(),
            fingerprint,
            auth,
            privacy,
        }
    }

    /// Identifies the user, its protocols and its keys (not the
    /// passphrases) for caches: two users with the same name and different
    /// passphrases, or privacy protocols, differ.
    pub fn fingerprint(&self) -> &[u8] {
        &self.fingerprint
    }

    /// The security level's msgFlags bits.
    pub fn level_flags(&self) -> u8 {
        match (&self.auth, &self.privacy) {
            (None, _) => 0,
            (Some(_), None) => super::pdu::flags::AUTH,
            (Some(_), Some(_)) => super::pdu::flags::AUTH | super::pdu::flags::PRIV,
        }
    }

    /// The authentication protocol, if any.
    pub fn auth_proto(&self) -> Option<AuthProto> {
        self.auth.as_ref().map(|(p, _)| *p)
    }

    /// The privacy protocol, if any.
    pub fn priv_proto(&self) -> Option<PrivProto> {
        self.privacy.as_ref().map(|(p, _)| *p)
    }

    /// This user's keys for the engine `engine_id`.
    pub fn localize(&self, engine_id: &[u8]) -> LocalKeys {
        let auth = self
            .auth
            .as_ref()
            .map(|(p, master)| (*p, localize(*p, master, engine_id)));
        let privacy = match (&self.auth, &self.privacy) {
            (Some((ap, _)), Some((pp, master))) => Some((
                *pp,
                extend(*ap, *pp, localize(*ap, master, engine_id), engine_id),
            )),
            _ => None,
        };
        LocalKeys { auth, privacy }
    }
}

/// Keys localized to one engine.
#[derive(Clone)]
pub struct LocalKeys {
    auth: Option<(AuthProto, Vec<u8>)>,
    privacy: Option<(PrivProto, Vec<u8>)>,
}

impl fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKeys { .. }")
    }
}

/// Why an encrypted scoped PDU could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptError;

impl LocalKeys {
    /// Length of the authentication parameters (0 without authentication).
    pub fn mac_len(&self) -> usize {
        self.auth.as_ref().map_or(0, |(p, _)| p.mac_len())
    }

    /// Whether privacy is on.
    pub fn has_privacy(&self) -> bool {
        self.privacy.is_some()
    }

    /// Fills the authentication parameters (at `range`, zeroed) of an
    /// encoded message with its MAC.
    pub fn sign(&self, msg: &mut [u8], range: Range<usize>) {
        if let Some((p, key)) = &self.auth
            && range.end <= msg.len()
        {
            let mac = p.hmac(key, msg);
            let n = range.len().min(mac.len());
            msg[range.start..range.start + n].copy_from_slice(&mac[..n]);
        }
    }

    /// Whether the MAC at `range` of a received message is right.
    pub fn verify(&self, msg: &[u8], range: Range<usize>) -> bool {
        let Some((p, key)) = &self.auth else {
            return false;
        };
        if range.len() != p.mac_len() || range.end > msg.len() {
            return false;
        }
        let mut copy = msg.to_vec();
        copy[range.clone()].fill(0);
        let mac = p.hmac(key, &copy);
        // Compare in constant time.
        let diff = mac[..range.len()]
            .iter()
            .zip(&msg[range])
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0
    }

    fn iv(boots: u32, time: u32, salt: &[u8]) -> Option<[u8; 16]> {
        let salt: [u8; 8] = salt.try_into().ok()?;
        let mut iv = [0u8; 16];
        iv[..4].copy_from_slice(&boots.to_be_bytes());
        iv[4..8].copy_from_slice(&time.to_be_bytes());
        iv[8..].copy_from_slice(&salt);
        Some(iv)
    }

    /// Encrypts a scoped PDU. Returns the ciphertext and the privacy
    /// parameters (the salt).
    pub fn encrypt(
        &self,
        boots: u32,
        time: u32,
        salt: u64,
        plain: &[u8],
    ) -> Option<(Vec<u8>, Vec<u8>)> {
        let (p, key) = self.privacy.as_ref()?;
        let salt = salt.to_be_bytes();
        let iv = Self::iv(boots, time, &salt)?;
        let mut buf = plain.to_vec();
        match p.key_len() {
            16 => cfb_mode::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
                .ok()?
                .encrypt(&mut buf),
            24 => cfb_mode::Encryptor::<aes::Aes192>::new_from_slices(key, &iv)
                .ok()?
                .encrypt(&mut buf),
            _ => cfb_mode::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
                .ok()?
                .encrypt(&mut buf),
        }
        Some((buf, salt.to_vec()))
    }

    /// Decrypts a scoped PDU.
    pub fn decrypt(
        &self,
        boots: u32,
        time: u32,
        priv_params: &[u8],
        cipher: &[u8],
    ) -> Result<Vec<u8>, DecryptError> {
        let (p, key) = self.privacy.as_ref().ok_or(DecryptError)?;
        let iv = Self::iv(boots, time, priv_params).ok_or(DecryptError)?;
        let mut buf = cipher.to_vec();
        match p.key_len() {
            16 => cfb_mode::Decryptor::<aes::Aes128>::new_from_slices(key, &iv)
                .map_err(|_| DecryptError)?
                .decrypt(&mut buf),
            24 => cfb_mode::Decryptor::<aes::Aes192>::new_from_slices(key, &iv)
                .map_err(|_| DecryptError)?
                .decrypt(&mut buf),
            _ => cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(key, &iv)
                .map_err(|_| DecryptError)?
                .decrypt(&mut buf),
        }
        Ok(buf)
    }
}

/// The engine an agent speaks for: its id and clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineClock<'a> {
    pub id: &'a [u8],
    pub boots: u32,
    pub time: u32,
}

/// The report an agent answers a discovery probe or a refused request with
/// (RFC 3414 3.2): the usmStats counter that says why, the agent's engine
/// and clock, echoing the request's msgID and request id. Signed with
/// `keys` (the time-window report) or unauthenticated (every other one).
pub fn report(
    msg_id: i32,
    request_id: i32,
    user: &[u8],
    engine: EngineClock<'_>,
    counter: u32,
    keys: Option<&LocalKeys>,
) -> Vec<u8> {
    use super::pdu::{Pdu, PduType, ScopedData, ScopedPdu, UsmParams, V3Message, flags};
    let msg = V3Message {
        msg_id,
        max_size: 65_507,
        flags: if keys.is_some() { flags::AUTH } else { 0 },
        usm: UsmParams {
            engine_id: engine.id.to_vec(),
            engine_boots: engine.boots,
            engine_time: engine.time,
            user: user.to_vec(),
            auth_params: vec![0; keys.map_or(0, LocalKeys::mac_len)],
            priv_params: Vec::new(),
        },
        data: ScopedData::Plain(ScopedPdu {
            context_engine_id: engine.id.to_vec(),
            context_name: Vec::new(),
            pdu: Pdu {
                kind: PduType::Report,
                request_id,
                error_status: 0,
                error_index: 0,
                varbinds: vec![(stats::oid(counter), super::Value::Counter32(1))],
            },
        }),
    };
    let (mut bytes, range) = msg.encode();
    if let Some(k) = keys {
        k.sign(&mut bytes, range);
    }
    bytes
}

/// The usmStats counters an agent reports a refused message with
/// (`1.3.6.1.6.3.15.1.1.N.0`).
pub mod stats {
    pub const PREFIX: [u32; 9] = [1, 3, 6, 1, 6, 3, 15, 1, 1];
    pub const UNSUPPORTED_SEC_LEVELS: u32 = 1;
    pub const NOT_IN_TIME_WINDOWS: u32 = 2;
    pub const UNKNOWN_USER_NAMES: u32 = 3;
    pub const UNKNOWN_ENGINE_IDS: u32 = 4;
    pub const WRONG_DIGESTS: u32 = 5;
    pub const DECRYPTION_ERRORS: u32 = 6;

    /// The counter's OID.
    pub fn oid(n: u32) -> super::super::Oid {
        let mut v = PREFIX.to_vec();
        v.push(n);
        v.push(0);
        super::super::Oid(v)
    }

    /// Which counter an OID is, if it is one.
    pub fn which(oid: &super::super::Oid) -> Option<u32> {
        match oid.arcs() {
            [p @ .., n, 0] if p == PREFIX => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    // RFC 3414 A.3.2: "maplesyrup" with SHA, engine 000000000000000000000002.
    #[test]
    fn rfc3414_sha1_key_localization() {
        let ku = password_to_key(AuthProto::Sha1, b"maplesyrup");
        assert_eq!(ku, hex("9fb5cc0381497b3793528939ff788d5d79145211"));
        let kul = localize(AuthProto::Sha1, &ku, &hex("000000000000000000000002"));
        assert_eq!(kul, hex("6695febc9288e36282235fc7151f128497b38f3f"));
    }

    // RFC 7860 has no vector; this one is net-snmp's own (`snmpusm`/`encode_keychange`
    // documentation): "maplesyrup", SHA-256, same engine id.
    #[test]
    fn sha256_key_localization() {
        let ku = password_to_key(AuthProto::Sha256, b"maplesyrup");
        let kul = localize(AuthProto::Sha256, &ku, &hex("000000000000000000000002"));
        assert_eq!(
            kul,
            hex("8982e0e549e866db361a6b625d84cccc11162d453ee8ce3a6445c2d6776f0f8b")
        );
    }

    #[test]
    fn sign_then_verify() {
        let user = UsmUser::new(b"u", Some((AuthProto::Sha256, b"authpass1")), None);
        let keys = user.localize(b"engine");
        let mut msg = vec![1u8; 64];
        msg[10..34].fill(0);
        keys.sign(&mut msg, 10..34);
        assert!(keys.verify(&msg, 10..34));
        msg[50] ^= 1;
        assert!(!keys.verify(&msg, 10..34));
        let other =
            UsmUser::new(b"u", Some((AuthProto::Sha256, b"wrongpass")), None).localize(b"engine");
        msg[50] ^= 1;
        assert!(!other.verify(&msg, 10..34));
    }

    #[test]
    fn encrypt_then_decrypt_both_key_sizes() {
        for (ap, pp) in [
            (AuthProto::Sha1, PrivProto::Aes128),
            (AuthProto::Sha1, PrivProto::Aes256),
            (AuthProto::Sha256, PrivProto::Aes256),
        ] {
            let keys = UsmUser::new(b"u", Some((ap, b"authpass1")), Some((pp, b"privpass1")))
                .localize(b"eng");
            let plain = b"a scoped pdu of some length, not a block multiple".to_vec();
            let (c, salt) = keys
                .encrypt(3, 400, 0xdead_beef, &plain)
                .expect("privacy on");
            assert_ne!(c, plain);
            assert_eq!(keys.decrypt(3, 400, &salt, &c), Ok(plain.clone()));
            assert_ne!(keys.decrypt(3, 401, &salt, &c), Ok(plain));
        }
    }

    /// The two key extensions agree on the localized key and differ after
    /// it: Blumenthal appends H(key), Reeder the key localized again.
    #[test]
    fn key_extensions_differ_after_the_hash() {
        let engine = hex("000000000000000000000002");
        let user = |pp| {
            UsmUser::new(
                b"u",
                Some((AuthProto::Sha1, b"maplesyrup")),
                Some((pp, b"maplesyrup")),
            )
        };
        let kul = localize(
            AuthProto::Sha1,
            &password_to_key(AuthProto::Sha1, b"maplesyrup"),
            &engine,
        );
        let blu = extend(AuthProto::Sha1, PrivProto::Aes256, kul.clone(), &engine);
        let ree = extend(AuthProto::Sha1, PrivProto::Aes256C, kul.clone(), &engine);
        assert_eq!(blu.len(), 32);
        assert_eq!(ree.len(), 32);
        assert_eq!(blu[..20], kul[..]);
        assert_eq!(ree[..20], kul[..]);
        let mut h = Sha1::new();
        h.update(&kul);
        assert_eq!(blu[20..], h.finalize()[..12]);
        let again = localize(
            AuthProto::Sha1,
            &password_to_key(AuthProto::Sha1, &kul),
            &engine,
        );
        assert_eq!(ree[20..], again[..12]);
        // SHA-256 keys are long enough: nothing to extend, both agree.
        assert_eq!(
            extend(AuthProto::Sha256, PrivProto::Aes256, vec![7; 32], &engine),
            extend(AuthProto::Sha256, PrivProto::Aes256C, vec![7; 32], &engine)
        );
        // Caches tell them apart.
        assert_ne!(
            user(PrivProto::Aes256).fingerprint(),
            user(PrivProto::Aes256C).fingerprint()
        );
    }

    #[test]
    fn stats_oids() {
        assert_eq!(
            stats::oid(stats::WRONG_DIGESTS).to_string(),
            "1.3.6.1.6.3.15.1.1.5.0"
        );
        assert_eq!(stats::which(&stats::oid(2)), Some(2));
        assert_eq!(
            stats::which(&"1.3.6.1.2.1.1.5.0".parse().expect("oid")),
            None
        );
    }
}
