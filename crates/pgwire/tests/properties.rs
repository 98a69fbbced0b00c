//! Properties of every parser over generated inputs (proptest; a failure shrinks to a minimal
//! case and is kept in `proptest-regressions/`): arbitrary bytes never panic, what is encoded
//! parses back to itself, a truncated packet is "incomplete" and consumes nothing, and the token
//! never leaves on an unencrypted channel. The coverage-guided fuzz targets in `fuzz/` assert the
//! same contracts for minutes at a time (`make fuzz`).

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;
use secrecy::SecretString;
use tapgate_pgwire::backend::MAX_HANDSHAKE_MESSAGE_LENGTH;
use tapgate_pgwire::startup::{CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, SSL_REQUEST_CODE};
use tapgate_pgwire::{
    AuthMethod, AuthStep, CancelKey, CancelRequest, ProtocolVersion, StartupMessage, StartupPacket,
    UpstreamAuth, parse_startup, split_backend_message,
};

const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.property-token.sig";

/// Parses `input` once and checks the contract: incomplete consumes nothing; a packet consumes
/// exactly its length word's bytes, and encoding it gives those bytes back.
fn check_startup_contract(input: &[u8]) -> Result<(), TestCaseError> {
    let mut buf = BytesMut::from(input);
    match parse_startup(&mut buf) {
        Ok(None) => prop_assert_eq!(&buf[..], input, "incomplete must consume nothing"),
        Ok(Some(packet)) => {
            let length = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
            prop_assert_eq!(buf.len(), input.len() - length, "a packet consumes exactly its length");
            let mut encoded = BytesMut::new();
            packet.encode(&mut encoded).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&encoded[..], &input[..length], "parse then encode gives the same bytes");
        }
        Err(_) => {}
    }
    Ok(())
}

fn encode(packet: &StartupPacket) -> BytesMut {
    let mut buf = BytesMut::new();
    packet.encode(&mut buf).expect("a valid packet encodes");
    buf
}

/// Parameter names: non-empty, no NUL; `user` is added by [`startup_message`].
fn param_name() -> impl Strategy<Value = String> {
    "[a-z_.][a-z0-9_.]{0,15}"
}

/// Values: any text without NUL, Unicode included.
fn param_value() -> impl Strategy<Value = String> {
    "[^\0]{0,24}"
}

fn protocol_version() -> impl Strategy<Value = ProtocolVersion> {
    (0u16..=9).prop_map(|minor| ProtocolVersion { major: 3, minor })
}

fn startup_message() -> impl Strategy<Value = StartupMessage> {
    (
        protocol_version(),
        "[^\0]{1,24}",
        vec((param_name(), param_value()), 0..6),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(version, user, others, at)| {
            let mut params: Vec<(String, String)> = Vec::new();
            for (name, value) in others {
                if name != "user" && !params.iter().any(|(n, _)| *n == name) {
                    params.push((name, value));
                }
            }
            params.insert(at.index(params.len() + 1), ("user".to_owned(), user));
            StartupMessage::new(version, params).expect("generated parameters are valid")
        })
}

fn cancel_request() -> impl Strategy<Value = CancelRequest> {
    (any::<i32>(), vec(any::<u8>(), 4..=256)).prop_map(|(process_id, key)| CancelRequest {
        process_id,
        secret_key: CancelKey::new(key).expect("4..=256 bytes"),
    })
}

fn startup_packet() -> impl Strategy<Value = StartupPacket> {
    prop_oneof![
        Just(StartupPacket::SslRequest),
        Just(StartupPacket::GssEncRequest),
        cancel_request().prop_map(StartupPacket::Cancel),
        startup_message().prop_map(StartupPacket::Startup),
    ]
}

/// A length word that passes or nearly passes the bounds, a code the parser knows (or not), and a
/// body of any bytes, so generated input reaches past the header checks.
fn plausible_packet() -> impl Strategy<Value = Vec<u8>> {
    let code = prop_oneof![
        Just(196_608_i32),
        Just(196_610),
        Just(SSL_REQUEST_CODE),
        Just(GSSENC_REQUEST_CODE),
        Just(CANCEL_REQUEST_CODE),
        any::<i32>(),
    ];
    (0_i32..300, code, vec(any::<u8>(), 0..320)).prop_map(|(length, code, body)| {
        let mut input = length.to_be_bytes().to_vec();
        input.extend_from_slice(&code.to_be_bytes());
        input.extend_from_slice(&body);
        input
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut input: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        match mutation {
            Mutation::Set(at, byte) if !input.is_empty() => {
                let at = at.index(input.len());
                input[at] = *byte;
            }
            Mutation::Insert(at, byte) => input.insert(at.index(input.len() + 1), *byte),
            Mutation::Remove(at) if !input.is_empty() => {
                input.remove(at.index(input.len()));
            }
            _ => {}
        }
    }
    input
}

/// One backend message: a tag the handshake meets (authentication requests with every code
/// PostgreSQL defines), then a body of any bytes; the length word is right or, rarely, not.
fn backend_message() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop::sample::select(b"RRRRRRENvSKZ?".to_vec());
    let code = prop::sample::select(vec![0_i32, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 99]);
    let mechanisms = prop::sample::select(vec![
        &b""[..],
        b"OAUTHBEARER\0\0",
        b"SCRAM-SHA-256\0\0",
        b"SCRAM-SHA-256-PLUS\0OAUTHBEARER\0\0",
    ]);
    (tag, code, mechanisms, vec(any::<u8>(), 0..24), prop::option::weighted(0.05, any::<i32>())).prop_map(
        |(tag, code, mechanisms, extra, bad_length)| {
            let mut body = Vec::new();
            if tag == b'R' {
                body.extend_from_slice(&code.to_be_bytes());
                if code == 10 {
                    body.extend_from_slice(mechanisms);
                }
            }
            body.extend_from_slice(&extra);
            let length = bad_length.unwrap_or((body.len() + 4) as i32);
            let mut message = vec![tag];
            message.extend_from_slice(&length.to_be_bytes());
            message.extend_from_slice(&body);
            message
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_startup_parser(input in vec(any::<u8>(), 0..128)) {
        check_startup_contract(&input)?;
    }

    #[test]
    fn plausible_headers_with_arbitrary_bodies_keep_the_contract(input in plausible_packet()) {
        check_startup_contract(&input)?;
    }

    #[test]
    fn mutated_valid_packets_keep_the_contract(
        packet in startup_packet(),
        mutations in vec(mutation(), 1..4),
    ) {
        check_startup_contract(&mutate(encode(&packet).to_vec(), &mutations))?;
    }
}

proptest! {
    #[test]
    fn every_packet_round_trips_and_leaves_what_follows(
        packet in startup_packet(),
        next in vec(any::<u8>(), 0..16),
    ) {
        let mut buf = encode(&packet);
        buf.extend_from_slice(&next);
        prop_assert_eq!(parse_startup(&mut buf), Ok(Some(packet)));
        prop_assert_eq!(&buf[..], &next[..]);
    }

    #[test]
    fn a_truncated_packet_is_incomplete_and_consumes_nothing(
        packet in startup_packet(),
        cut in any::<prop::sample::Index>(),
    ) {
        let whole = encode(&packet);
        let cut = cut.index(whole.len());
        let mut prefix = BytesMut::from(&whole[..cut]);
        prop_assert_eq!(parse_startup(&mut prefix), Ok(None));
        prop_assert_eq!(prefix.len(), cut);
    }

    #[test]
    fn backend_streams_cut_the_same_at_any_split(
        messages in vec(backend_message(), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let whole: Vec<u8> = messages.concat();
        let cut = cut.index(whole.len() + 1);
        // All at once, and in two deliveries split at `cut`: the same messages, or the same error.
        let mut at_once = BytesMut::from(&whole[..]);
        let mut expected = Vec::new();
        let expected_end = loop {
            match split_backend_message(&mut at_once, MAX_HANDSHAKE_MESSAGE_LENGTH) {
                Ok(Some(message)) => expected.push(message),
                other => break other.map(|_| ()),
            }
        };
        let mut buf = BytesMut::from(&whole[..cut]);
        let mut got = Vec::new();
        let mut end = Ok(());
        for delivery in [&[][..], &whole[cut..]] {
            buf.extend_from_slice(delivery);
            end = loop {
                let before = buf.len();
                match split_backend_message(&mut buf, MAX_HANDSHAKE_MESSAGE_LENGTH) {
                    Ok(Some(message)) => got.push(message),
                    Ok(None) => {
                        prop_assert_eq!(buf.len(), before, "incomplete must consume nothing");
                        break Ok(());
                    }
                    Err(e) => break Err(e),
                }
            };
            if end.is_err() {
                break;
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(end, expected_end);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn server_streams_never_panic_the_exchange_nor_get_the_token_without_tls(
        oauth in any::<bool>(),
        encrypted in any::<bool>(),
        messages in vec(backend_message(), 1..5),
    ) {
        let method = if oauth { AuthMethod::OAuthBearer } else { AuthMethod::Password };
        let mut auth = UpstreamAuth::new(method, SecretString::from(TOKEN), encrypted);
        let mut stream = BytesMut::from(&messages.concat()[..]);
        while let Ok(Some(message)) = split_backend_message(&mut stream, MAX_HANDSHAKE_MESSAGE_LENGTH) {
            let _ = message.report();
            let _ = message.backend_key_data();
            match auth.on_message(message) {
                Ok(AuthStep::Send(bytes)) => {
                    let leaked = bytes.expose().windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes());
                    prop_assert!(encrypted || !leaked, "the token was sent without TLS");
                }
                Ok(AuthStep::Forward(_) | AuthStep::Continue) => {}
                Ok(AuthStep::Refuse(_) | AuthStep::ServerRefused(_) | AuthStep::Authenticated(_)) | Err(_) => {
                    break;
                }
            }
        }
        prop_assert!(encrypted || !auth.token_sent());
    }
}
