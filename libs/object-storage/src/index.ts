export {
  StorageError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageUnavailableError,
  StorageAccessDeniedError,
  StorageUnexpectedError,
  type StorageErrorCode,
} from './storage.errors.js';
export { UploadReader, type UploadReadOptions, type UploadedObject } from './upload-reader.port.js';
export { ThumbnailWriter, type ThumbnailWriteOptions } from './thumbnail-writer.port.js';
export {
  resolveS3ConnectionOptions,
  type S3ConnectionOptions,
  type ResolvedS3ConnectionOptions,
  type S3Credentials,
} from './s3-connection.options.js';
export { S3UploadReader, type S3UploadReaderOptions } from './s3-upload-reader.js';
export { S3ThumbnailWriter, type S3ThumbnailWriterOptions } from './s3-thumbnail-writer.js';
export { createS3Storage, type S3Storage, type S3StorageOptions } from './s3-storage.factory.js';
export {
  findIamPolicyDirectory,
  loadSampleIamPolicies,
  type IamPolicyDocument,
  type IamPolicyStatement,
  type SampleIamPolicies,
} from './iam-policy.document.js';
export {
  evaluateIamPolicy,
  DEV_ACCOUNT_ID,
  type IamDecision,
  type IamRequest,
} from './iam-policy.evaluator.js';
export {
  startDevStorage,
  DEV_STORAGE_BUCKETS,
  type DevStorage,
  type DevStorageAccount,
  type DevStorageAvailability,
  type DevStorageDecision,
  type DevStorageOptions,
} from './dev-storage/dev-storage.js';
