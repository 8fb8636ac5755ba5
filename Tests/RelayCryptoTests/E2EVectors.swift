import Foundation

/// `Vectors/e2e-v1.json` (PROTOCOL.md section 7), computed by an independent
/// implementation; every field is hex unless its name says text.
struct E2EVectorFile: Decodable {
    struct Inputs: Decodable {
        let sessionKey, nameI, nameIHex, nameR, nameRHex: String
        let x25519SecretI, x25519SecretR, ed25519SeedI, ed25519SeedR: String
    }

    struct Agreement: Decodable {
        let pkI, pkR, commitmentInput, commitment, msg1, msg2, msg3, Z, transcriptInput, T: String
        let infoI2REnc: String
        let wrongPkR: String

        enum CodingKeys: String, CodingKey {
            case pkI, pkR, commitmentInput, commitment, msg1, msg2, msg3, Z, transcriptInput, T, wrongPkR
            case infoI2REnc = "info(i2r enc)"
        }
    }

    struct Keys: Decodable {
        let PRK, i2rEnc, i2rMac, r2iEnc, r2iMac, sasKey: String
        let sasNumber: UInt32
        let sas: String

        enum CodingKeys: String, CodingKey {
            case PRK, sasNumber, sas
            case i2rEnc = "key(i2r enc)", i2rMac = "key(i2r mac)", r2iEnc = "key(r2i enc)", r2iMac = "key(r2i mac)"
            case sasKey = "key(sas)"
        }
    }

    struct Identity: Decodable {
        let signer, direction: String
        let seq: UInt64
        let kind: UInt8
        let idPub, fingerprint, signedMessage, signature, content, iv, record: String
    }

    struct Record: Decodable {
        let direction: String
        let seq: UInt64
        let kind: UInt8
        let content, plaintext, iv, record: String
        let contentText: String?
    }

    struct MustRefuse: Decodable {
        let what, direction: String
        let expectedSeq: UInt64
        let record, error: String
    }

    struct Files: Decodable {
        let relay, identityKeyPemI, identityKeyPemR, knownPeersLineAtI, knownPeersLineAtR: String
    }

    struct Display: Decodable {
        let sasLineAtI, sasLineAtR, verifiedLineAtI, verifiedLineAtR, notVerifiedLineAtI, notVerifiedLineAtR: String
    }

    struct Case: Decodable {
        let name: String
        let inputs: Inputs
        let agreement: Agreement
        let keys: Keys
        let identity: [Identity]
        let records: [Record]
        let mustRefuse: [MustRefuse]
        let files: Files
        let display: Display
    }

    let cases: [Case]
    let smallOrderPublicKeys: [String]

    static func load() throws -> E2EVectorFile {
        try JSONDecoder().decode(E2EVectorFile.self, from: TestVectors.data(named: "e2e-v1.json"))
    }
}
