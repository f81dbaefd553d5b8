/** Typed failures of the DingTalk custom robot. Messages never carry the access_token, the secret or the signed URL. */
import { ConnectorError } from '../errors.js';

/** 310000: signature, timestamp, keyword or IP allow-list refused the message (a configuration problem). */
export class RobotRejectedError extends ConnectorError {
  constructor(errcode: number, errmsg: string) {
    super('ROBOT_REJECTED', `DingTalk robot refused the message (errcode ${errcode}: ${errmsg}); check ROBOT_SECRET, the robot's keywords and IP allow-list`, { details: { errcode } });
  }
}

/** 410100 (older 130101): over 20 messages/minute, the robot is blocked for about 10 minutes. */
export class RobotBlockedError extends ConnectorError {
  constructor(errcode: number, errmsg: string) {
    super('ROBOT_BLOCKED', `DingTalk robot is blocked for sending too often (errcode ${errcode}: ${errmsg})`, { details: { errcode } });
  }
}

/** Any other failure: network, timeout, non-2xx, unexpected body or errcode. */
export class RobotSendError extends ConnectorError {
  constructor(message: string, details?: Record<string, unknown>, cause?: unknown) {
    super('ROBOT_SEND_FAILED', message, { details, cause });
  }
}

/** The client-side budget (20/min) has no room now: nothing was sent. */
export class RobotBudgetError extends ConnectorError {
  constructor(readonly retryInMs: number) {
    super('ROBOT_BUDGET_EXHAUSTED', `Robot message budget used up; next message possible in ${Math.ceil(retryInMs / 1000)} s`, { details: { retryInMs } });
  }
}

export class RobotOptionsError extends ConnectorError {
  constructor(message: string) { super('ROBOT_OPTIONS_INVALID', message); }
}
