/**
 * HPE iLO 5 answers successful PATCHes and actions with HTTP 200 and an `error` object whose only
 * `@Message.ExtendedInfo` entry is informational: `Base.1.x.Success`, or `iLO.2.x.SystemResetRequired`
 * after a change that applies at the next reset. These ids are success, not failure.
 */
const ILO_SUCCESS = /^iLO\.\d+\.\d+\.(SystemResetRequired|ResetRequired|Success|EventSubscriptionModified)$/;

export function isIloSuccessMessageId(id: string): boolean {
  return ILO_SUCCESS.test(id);
}
