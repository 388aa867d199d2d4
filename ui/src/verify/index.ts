/**
 * The in-browser verifier: pure TypeScript over sm-crypto, no server trust. See ui/README.md.
 */
export { verifyEventProof } from './bundle';
export type { EventProofBundle, VerifyFailure, VerifyOptions, VerifyResult, Verified, WireMerkleProof } from './bundle';
export { verifyCertificate, precommitSigningBytes } from './certificate';
export type { CommitCertificate, SigningBytes, Validator } from './certificate';
export { merkleRoot, merkleProof, verifyMerkleProof } from './merkle';
export type { MerkleProof, ProofStep } from './merkle';
export { decodeBlockHeader, decodeReceipt, blockHash, receiptHash, addressOf } from './ledger';
export type { BlockHeader, Receipt, LedgerEvent } from './ledger';
export { verifySm2, DEFAULT_DIST_ID } from './sm2';
export { sm3 } from './sm3';
export { DecodeError } from './borsh';
