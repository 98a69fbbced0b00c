//! Thousands of random and mutated buffers through every parser: never a panic, and the
//! "incomplete consumes nothing, complete consumes exactly one packet" contract holds.

use bytes::BytesMut;
use secrecy::SecretString;
use tapgate_pgwire::backend::MAX_HANDSHAKE_MESSAGE_LENGTH;
use tapgate_pgwire::{
    AuthMethod, AuthStep, ProtocolVersion, StartupMessage, StartupPacket, UpstreamAuth, parse_startup,
    split_backend_message,
};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Valid packets to mutate, so the fuzzing reaches past the length and code checks.
fn seeds() -> Vec<Vec<u8>> {
    let startup = StartupMessage::new(
        ProtocolVersion::V3_0,
        vec![("user".into(), "app_rw".into()), ("database".into(), "app".into())],
    )
    .expect("valid");
    let mut out = Vec::new();
    for packet in [StartupPacket::SslRequest, StartupPacket::GssEncRequest, StartupPacket::Startup(startup)] {
        let mut buf = BytesMut::new();
        packet.encode(&mut buf).expect("encodes");
        out.push(buf.to_vec());
    }
    out.push(b"\0\0\0\x10\x04\xd2\x16\x2e\0\0\0\x01abcd".to_vec());
    out
}

fn check_startup(input: &[u8]) {
    let mut buf = BytesMut::from(input);
    match parse_startup(&mut buf) {
        Ok(None) => assert_eq!(&buf[..], input, "incomplete must consume nothing"),
        Ok(Some(_)) => {
            let length = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
            assert_eq!(buf.len(), input.len() - length, "complete consumes exactly one packet");
        }
        Err(_) => {}
    }
}

#[test]
fn random_buffers_never_panic_the_startup_parser() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for _ in 0..20_000 {
        let len = rng.below(64);
        check_startup(&rng.bytes(len));
    }
    // Plausible length words with random bodies.
    for _ in 0..5_000 {
        let len = 8 + rng.below(200);
        let mut input = (len as u32).to_be_bytes().to_vec();
        input.extend_from_slice(&[0, 3, 0, 0]);
        let body_len = rng.below(len + 8);
        input.extend_from_slice(&rng.bytes(body_len));
        check_startup(&input);
    }
}

#[test]
fn mutated_valid_packets_never_panic_the_startup_parser() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    let seeds = seeds();
    for _ in 0..20_000 {
        let mut input = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(3) {
            match rng.below(3) {
                0 => {
                    let at = rng.below(input.len());
                    input[at] = rng.next() as u8;
                }
                1 => {
                    let at = rng.below(input.len() + 1);
                    input.insert(at, rng.next() as u8);
                }
                _ => {
                    if !input.is_empty() {
                        let at = rng.below(input.len());
                        input.remove(at);
                    }
                }
            }
        }
        check_startup(&input);
    }
}

#[test]
fn random_server_streams_never_panic_the_auth_exchange() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    let tags = b"RRRRREENvSKZ?";
    for round in 0..10_000 {
        let method = if round % 2 == 0 { AuthMethod::Password } else { AuthMethod::OAuthBearer };
        let mut auth = UpstreamAuth::new(method, SecretString::from("token"), round % 3 != 0);
        let mut stream = BytesMut::new();
        for _ in 0..1 + rng.below(4) {
            let tag = tags[rng.below(tags.len())];
            let mut body = Vec::new();
            if tag == b'R' {
                body.extend_from_slice(&[0, 0, 0, [0u8, 3, 5, 10, 11, 12, 99][rng.below(7)]]);
            }
            let extra = rng.below(24);
            body.extend_from_slice(&rng.bytes(extra));
            stream.extend_from_slice(&[tag]);
            stream.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
            stream.extend_from_slice(&body);
        }
        if rng.below(4) == 0 {
            let at = rng.below(stream.len());
            stream[at] = rng.next() as u8;
        }
        while let Ok(Some(message)) = split_backend_message(&mut stream, MAX_HANDSHAKE_MESSAGE_LENGTH) {
            let _ = message.report();
            let _ = message.backend_key_data();
            match auth.on_message(message) {
                Ok(AuthStep::Refuse(_) | AuthStep::ServerRefused(_) | AuthStep::Authenticated(_))
                | Err(_) => {
                    break;
                }
                Ok(_) => {}
            }
        }
    }
}
