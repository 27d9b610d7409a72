/**
 * Redfish response bodies: messages from the DMTF Base message registry and the
 * error envelope of DSP0266 ("Error responses": `error.code`, `error.message`,
 * `error.@Message.ExtendedInfo`).
 */

/** The Base registry version every message id uses (Base.1.16.PropertyValueNotInList). */
export const BASE = "Base.1.16";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface RedfishMessage extends JsonObject {
  "@odata.type": string;
  MessageId: string;
  Message: string;
  MessageArgs: string[];
  Severity: string;
  MessageSeverity: string;
  Resolution: string;
}

/** A response the handlers return: status, extra headers and an optional JSON body. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: JsonObject;
  /** A non-JSON body (only $metadata, which is CSDL XML). */
  raw?: { contentType: string; data: string };
}

export function message(id: string, text: string, args: string[] = [], severity = "Warning", resolution = "None.", related?: string[]): RedfishMessage {
  const m: RedfishMessage = {
    "@odata.type": "#Message.v1_1_1.Message", MessageId: id.includes(".") ? id : `${BASE}.${id}`,
    Message: text, MessageArgs: args, Severity: severity, MessageSeverity: severity, Resolution: resolution,
  };
  if (related) m.RelatedProperties = related;
  return m;
}

/** DSP0266 error body; `code` is the first message's id, as most services do. */
export function errorBody(messages: RedfishMessage[]): JsonObject {
  return {
    error: {
      code: messages[0]?.MessageId ?? `${BASE}.GeneralError`,
      message: messages[0]?.Message ?? "A general error has occurred. See Resolution for information on how to resolve the error.",
      "@Message.ExtendedInfo": messages,
    },
  };
}

export function errorReply(status: number, ...messages: RedfishMessage[]): Reply {
  return { status, body: errorBody(messages) };
}

/** Messages used by the simulator, named after their Base registry entries. */
export const msg = {
  success: () => message("Success", "The request completed successfully.", [], "OK"),
  generalError: () => message("GeneralError", "A general error has occurred. See Resolution for information on how to resolve the error.", [], "Critical"),
  internalError: () => message("InternalError", "The request failed due to an internal service error.  The service is still operational.", [], "Critical", "Resubmit the request.  If the problem persists, consider resetting the service."),
  noValidSession: () => message("NoValidSession", "There is no valid session established with the implementation.", [], "Critical", "Establish a session before attempting any operations."),
  unauthorized: (uri: string) => message("ResourceAtUriUnauthorized", `While accessing the resource at '${uri}', the service received an authorization error 'Invalid username or password'.`, [uri, "Invalid username or password"], "Critical", "Ensure that the appropriate access is provided for the service in order for it to access the URI."),
  resourceMissing: (uri: string) => message("ResourceMissingAtURI", `The resource at the URI '${uri}' was not found.`, [uri], "Critical", "Place a valid resource at the URI or correct the URI and resubmit the request."),
  operationNotAllowed: () => message("OperationNotAllowed", "The HTTP method is not allowed on this resource.", [], "Critical", "None."),
  unrecognizedRequestBody: () => message("UnrecognizedRequestBody", "The service detected a malformed request body that it was unable to interpret.", [], "Warning", "Correct the request body and resubmit the request if it failed."),
  emptyJson: () => message("EmptyJSON", "The request body submitted contained an empty JSON object and the service is unable to process it.", [], "Warning", "Add properties in the JSON object and resubmit the request."),
  malformedJson: () => message("MalformedJSON", "The request body submitted was malformed JSON and could not be parsed by the receiving service.", [], "Critical", "Ensure that the request body is valid JSON and resubmit the request."),
  propertyMissing: (prop: string) => message("PropertyMissing", `The property '${prop}' is a required property and must be included in the request.`, [prop], "Warning", "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed.", [`#/${prop}`]),
  propertyUnknown: (prop: string) => message("PropertyUnknown", `The property '${prop}' is not in the list of valid properties for the resource.`, [prop], "Warning", "Remove the unknown property from the request body and resubmit the request if the operation failed.", [`#/${prop}`]),
  propertyNotWritable: (prop: string, resolution = "Remove the property from the request body and resubmit the request if the operation failed.") => message("PropertyNotWritable", `The property '${prop}' is a read-only property and cannot be assigned a value.`, [prop], "Warning", resolution, [`#/${prop}`]),
  propertyValueNotInList: (value: string, prop: string) => message("PropertyValueNotInList", `The value '${value}' for the property ${prop} is not in the list of acceptable values.`, [value, prop], "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.", [`#/${prop}`]),
  propertyValueTypeError: (value: string, prop: string) => message("PropertyValueTypeError", `The value '${value}' for the property ${prop} is not a type that the property can accept.`, [value, prop], "Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed.", [`#/${prop}`]),
  actionParameterMissing: (action: string, param: string) => message("ActionParameterMissing", `The action ${action} requires the parameter ${param} to be present in the request body.`, [action, param], "Critical", "Supply the action with the required parameter in the request body when the request is resubmitted."),
  actionParameterValueNotInList: (value: string, param: string, action: string) => message("ActionParameterValueNotInList", `The value '${value}' for the parameter ${param} in the action ${action} is not in the list of acceptable values.`, [value, param, action], "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."),
  preconditionFailed: () => message("PreconditionFailed", "The ETag supplied did not match the ETag required to change this resource.", [], "Critical", "Try the operation again using the appropriate ETag."),
  preconditionRequired: () => message("PreconditionRequired", "A precondition header or annotation is required to change this resource.", [], "Critical", "Try the operation again using an If-Match or If-None-Match header and appropriate ETag."),
  sessionLimitExceeded: () => message("SessionLimitExceeded", "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.", [], "Critical", "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported."),
  serviceTemporarilyUnavailable: (seconds: number) => message("ServiceTemporarilyUnavailable", `The service is temporarily unavailable.  Retry in ${seconds} seconds.`, [String(seconds)], "Critical", "Wait for the indicated retry duration and retry the operation."),
  taskStarted: (id: string) => message("TaskEvent.1.0.TaskStarted", `The task with Id '${id}' has started.`, [id], "OK"),
  taskCompleted: (id: string) => message("TaskEvent.1.0.TaskCompletedOK", `The task with Id '${id}' has completed.`, [id], "OK"),
};
