/**
 * The offline verifier (the web UI's consumer page runs it in the browser): pure TypeScript over
 * sm-crypto, no server trust — SM3 Merkle proofs, Borsh block headers and receipts, SM2 commit
 * certificates, whole event proof bundles.
 */
export { verifyEventProof } from './bundle.js';
export type { EventProofBundle, VerifyFailure, VerifyOptions, VerifyResult, Verified, WireMerkleProof } from './bundle.js';
export { verifyCertificate, precommitSigningBytes } from './certificate.js';
export type { CommitCertificate, SigningBytes, Validator } from './certificate.js';
export { merkleRoot, merkleProof, verifyMerkleProof } from './merkle.js';
export type { MerkleProof, ProofStep } from './merkle.js';
export { decodeBlockHeader, decodeReceipt, blockHash, receiptHash, addressOf } from './ledger.js';
export type { BlockHeader, Receipt, LedgerEvent } from './ledger.js';
export { verifySm2, DEFAULT_DIST_ID } from './sm2.js';
export { sm3 } from './sm3.js';
export { DecodeError } from './borsh.js';
export { concat, equalBytes, fromHex, fromHexLen, toHex, utf8 } from './bytes.js';
