/**
 * The service errors the emulator answers with. `code` is the wire error code (the shape name the
 * SDKs map to an exception class) and `status` its HTTP status, as modelled by the service.
 */

const ErrorCode = {
  ValidationError: 'ValidationError',
  ResourceNotFound: 'ResourceNotFound',
  ConflictException: 'ConflictException',
  InternalFailure: 'InternalFailure',
  ServiceUnavailable: 'ServiceUnavailable',
  ThrottlingException: 'ThrottlingException',
  // Control plane (awsJson1_1).
  ValidationException: 'ValidationException',
  ResourceInUse: 'ResourceInUse',
  UnknownOperationException: 'UnknownOperationException',
} as const;

type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  ValidationError: 400,
  ResourceNotFound: 404,
  ConflictException: 409,
  InternalFailure: 500,
  ServiceUnavailable: 503,
  ThrottlingException: 429,
  ValidationException: 400,
  ResourceInUse: 400,
  UnknownOperationException: 404,
};

/** Messages are capped at the model's 2048 characters. */
const MAX_MESSAGE_LENGTH = 2048;

/** An error the store answers with; never an unexpected failure. */
class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string, status?: number) {
    super(
      message.length > MAX_MESSAGE_LENGTH
        ? `${message.slice(0, MAX_MESSAGE_LENGTH - 3)}...`
        : message
    );
    this.name = 'ServiceError';
    this.code = code;
    this.status = status ?? STATUS_BY_CODE[code];
  }
}

function validationError(message: string): ServiceError {
  return new ServiceError(ErrorCode.ValidationError, message);
}

/** The text AWS answers PutRecord with for a missing group (sagemaker-python-sdk issue 2606). */
function groupNotFoundMessage(name: string): string {
  return `Resource Not Found: Amazon SageMaker can't find a FeatureGroup with name [${name}].`;
}

export { ErrorCode, groupNotFoundMessage, ServiceError, validationError };
