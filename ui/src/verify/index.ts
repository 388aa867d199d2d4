/**
 * The in-browser verifier lives in the SDK (`sdk/typescript/src/verify`, `@scf/sdk/verify`): pure
 * TypeScript over sm-crypto, no server trust. Its tests run with the SDK's. See ui/README.md.
 */
export * from '@scf/sdk/verify';
