/** class-transformer's metadata singleton, which its package does not re-export (see schema-validator.ts). */
declare module 'class-transformer/cjs/storage.js' {
  export const defaultMetadataStorage: import('class-transformer/types/MetadataStorage.js').MetadataStorage;
}
