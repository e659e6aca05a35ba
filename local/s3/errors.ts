/**
 * S3 error responses: the code, HTTP status and message S3 itself answers with, so SDK error
 * classes (`NoSuchKey`, `PreconditionFailed`, …) and the CLI's messages come out the same.
 */

/** An S3 error answer; `resource` goes into the `<Resource>`/`<Key>` element. */
class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  readonly key: string | undefined;
  readonly bucket: string | undefined;
  constructor(
    code: string,
    status: number,
    message: string,
    details: { key?: string; bucket?: string } = {}
  ) {
    super(message);
    this.name = 'S3Error';
    this.code = code;
    this.status = status;
    this.key = details.key;
    this.bucket = details.bucket;
  }
}

/** The errors S3 answers most, with its own codes and messages. */
const noSuchBucket = (bucket: string) =>
  new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { bucket });
const noSuchKey = (bucket: string, key: string) =>
  new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { bucket, key });
const noSuchVersion = (bucket: string, key: string) =>
  new S3Error('NoSuchVersion', 404, 'The specified version does not exist.', { bucket, key });
const preconditionFailed = (bucket: string, key: string) =>
  new S3Error(
    'PreconditionFailed',
    412,
    'At least one of the pre-conditions you specified did not hold',
    { bucket, key }
  );
const invalidArgument = (message: string) => new S3Error('InvalidArgument', 400, message);
const noSuchUpload = (bucket: string, key: string) =>
  new S3Error(
    'NoSuchUpload',
    404,
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    { bucket, key }
  );

export {
  invalidArgument,
  noSuchBucket,
  noSuchKey,
  noSuchUpload,
  noSuchVersion,
  preconditionFailed,
  S3Error,
};
