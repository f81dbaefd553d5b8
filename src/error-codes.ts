/**
 * The error catalogue: every stable code the connector throws, records or answers with, once (fastify keeps its
 * codes this way). For each: the HTTP status it maps to, whether its message may be shown to a caller (`expose`;
 * otherwise the HTTP layer answers "internal error"), and what it means, in one line.
 *
 * Adding a code: add an entry here (in its group), throw it through a ConnectorError subclass (src/errors.ts) or
 * record it as a run failure's `code`, and run `npm run docs:errors` to refresh the README's table. The test
 * test/error-catalogue.test.ts fails when the code base uses a code that is not here, or the README is stale.
 */

export interface ErrorCodeInfo {
  /** HTTP status the code maps to (also when it reaches the HTTP layer through a run) */
  status: number;
  /** may the message be shown to a caller (HTTP answers, run records)? messages never carry secrets either way */
  expose: boolean;
  /** what it means, in one line */
  meaning: string;
}

const entry = (status: number, expose: boolean, meaning: string): ErrorCodeInfo => ({ status, expose, meaning });

export const ERROR_CODES = {
  // start-up and internals
  CONFIG_INVALID: entry(500, false, 'the configuration (environment) is invalid; the message lists every variable and what was expected'),
  MAPPING_INVALID: entry(500, false, 'the mapping file cannot be used; the message lists every problem'),
  INTERNAL_ERROR: entry(500, false, 'an unexpected failure (a bug); details are in the log only'),

  // HTTP surface
  WEBHOOK_UNAUTHORIZED: entry(401, true, 'missing, wrong or replayed credentials (X-API-Key or the ddpaas signature), or none configured'),
  WEBHOOK_BAD_JSON: entry(400, true, 'the request body is not valid JSON'),
  WEBHOOK_INVALID_BODY: entry(400, true, 'a body field is wrong or unknown; `field` names it'),
  WEBHOOK_BODY_TOO_LARGE: entry(413, true, 'the request body is over the limit (64 KiB)'),
  WEBHOOK_UNSUPPORTED_MEDIA_TYPE: entry(415, true, 'the body is not sent as application/json (or is compressed)'),
  WEBHOOK_BODY_TIMEOUT: entry(408, true, 'the request body did not arrive in time'),
  INVALID_QUERY: entry(400, true, 'a query parameter is wrong; `field` names it'),
  RUN_NOT_FOUND: entry(404, true, 'no run with this id'),
  NOT_FOUND: entry(404, true, 'no such route'),
  METHOD_NOT_ALLOWED: entry(405, true, 'the route exists but not for this method'),
  REQUEST_REFUSED: entry(400, true, 'a request the HTTP layer refused before a route answered it (the answer keeps the status that says why, e.g. 400 or 413)'),
  PUSH_UNAUTHORIZED: entry(401, true, 'an OKKI push without a valid X-Timestamp / X-Signature (or outside ±300 s); nothing queued'),
  PUSH_MALFORMED: entry(400, true, 'an OKKI push whose body, envelope or encrypted payload cannot be read; nothing queued'),
  PUSH_QUEUE_UNAVAILABLE: entry(503, true, 'the push event queue did not take the message in time; OKKI delivers it again'),
  USAGE_UNAVAILABLE: entry(404, true, 'GET /usage on a service built without metering (a test double); the real service always meters'),
  SERVICE_SHUTTING_DOWN: entry(503, true, 'the service is shutting down and takes no new runs; try again in a moment'),
  METRICS_UNAUTHORIZED: entry(401, true, 'METRICS_TOKEN is set and GET /metrics came without `Authorization: Bearer <METRICS_TOKEN>`'),

  // operator console (/console)
  CONSOLE_LOGIN_REQUIRED: entry(401, true, 'a console request without a live session: log in at /console/login'),
  CONSOLE_FORBIDDEN: entry(403, true, 'a console action from another origin, without the CSRF token of the session, or not sent as a form'),
  CONSOLE_LOGIN_THROTTLED: entry(429, true, 'too many failed console logins from one address in 15 minutes'),
  CONSOLE_FORM_INVALID: entry(400, true, 'a console form could not be read (over 8 KiB or cut off)'),

  // runs
  SYNC_LOCK_UNAVAILABLE: entry(503, false, 'the single-flight lock could not be claimed'),
  SYNC_LOCK_LOST: entry(500, false, 'the run lost its lock lease (store trouble or a long stall) and stopped; the next run repeats its window'),
  RUN_ABORTED: entry(500, false, 'the run was stopped (shutdown or a fatal failure); the cursor did not move'),
  RUN_INTERRUPTED: entry(503, true, 'the process running the run died; recorded at the next start-up, whose run repeats the window'),
  SYNC_ABORTED: entry(503, true, 'a product write was cut short because its run stopped; it is retried by the next run'),
  BUDGET_EXHAUSTED: entry(429, true, "the month's DingTalk call budget (DINGTALK_MONTHLY_CALL_BUDGET) is spent: scheduled runs are skipped, webhook runs still run"),
  DELETE_GUARD: entry(409, true, 'more products would be marked or deleted than SYNC_DELETE_MAX allows; nothing was, until confirmed'),
  SWEEP_INCOMPLETE: entry(502, true, 'a sweep could not read the whole OKKI list (a page failed, or the list kept changing); nothing was marked or deleted'),
  OKKI_LIST_INCOMPLETE: entry(409, true, "products missing from OKKI's list still exist in OKKI (the list was short): they were left alone"),
  GONE_UNPROVEN: entry(409, true, 'a Yida key missing from OKKI that the ledger cannot tie to an OKKI product number or id: nothing can prove it gone, so it was left alone'),
  MIRROR_UNSUPPORTED: entry(500, false, 'a sweep or an audit was asked of a source or sink that cannot be read whole'),
  DUPLICATE_PRODUCT_NO: entry(422, true, 'two OKKI products carry the same product number; only the first is synced'),
  WRITE_FAILED: entry(502, true, 'writing a product failed in an unexpected way; the next run tries again'),
  LEDGER_CONFLICT: entry(409, true, 'another process or replica changed a product\'s ledger entry at the same moment; nothing was written, the next run checks it'),
  LEDGER_PENDING_RECENT: entry(409, true, 'a write of the product began less than YIDA_SEARCH_LAG ago and is not visible yet; left for a later run'),
  SYNC_FENCE_STALE: entry(409, false, 'the run no longer holds its lease (fencing token stale); it stops and changes nothing more'),

  // store
  STORE_UNAVAILABLE: entry(503, false, 'the store (sqlite or Redis) failed; the run stops with the cursor unchanged'),
  STORE_CURSOR_CORRUPT: entry(500, false, 'the stored sync cursor is not an instant; fix or delete the "cursor" record'),
  STORE_ARGUMENT_INVALID: entry(500, false, 'a store was called with an invalid key or value (a bug)'),

  // OKKI (the source)
  OKKI_AUTH_FAILED: entry(502, true, 'OKKI refused the credentials or the scope, or a fresh token again; an operator has to act'),
  OKKI_HTTP_ERROR: entry(502, true, 'OKKI answered an HTTP error status (after retries when retryable)'),
  OKKI_API_ERROR: entry(502, true, 'OKKI answered HTTP 200 with a non-success envelope code'),
  OKKI_TIMEOUT: entry(504, true, 'OKKI did not answer within the request timeout, after retries'),
  OKKI_NETWORK_ERROR: entry(502, true, 'OKKI could not be reached (refused, reset, DNS), after retries'),
  OKKI_NOT_FOUND: entry(404, true, 'OKKI has no product with this number or id'),
  OKKI_WINDOW_UNSTABLE: entry(502, true, 'a time window kept changing under every re-read and could not be covered'),
  OKKI_ITEM_INVALID: entry(422, true, 'an OKKI list item is not a usable product (not an object, no product_no); rejected'),
  MAPPING_REJECTED: entry(422, true, 'a product failed the mapping (required field empty, wrong type ...); rejected with the reason'),
  GROUP_NAME_EMPTY: entry(422, true, 'an OKKI product group has an empty name; the groups mirror does not write it until it has one'),
  GROUP_NAME_DUPLICATE: entry(422, true, 'two OKKI product groups under one parent share a name; the groups mirror writes neither until the names differ'),

  // Yida / DingTalk (the sink)
  YIDA_AUTH_FAILED: entry(502, false, 'DingTalk refused the app credentials, or a freshly fetched token; the run stops'),
  YIDA_THROTTLED: entry(502, false, 'still throttled after every retry; nothing was executed'),
  YIDA_WRITE_AMBIGUOUS: entry(502, false, 'a write whose outcome is unknown (timeout, 5xx); reconciled by search before any new write'),
  YIDA_DUPLICATE_FOUND: entry(502, false, 'more than one Yida instance holds the same product number; a person decides which stays'),
  YIDA_REJECTED: entry(502, false, "Yida refused the request as invalid; the message is Yida's"),
  YIDA_UNAVAILABLE: entry(502, false, 'a Yida read or the token kept failing (network, 5xx) after every retry'),

  // robot reports
  ROBOT_REJECTED: entry(502, false, "the robot refused the message (signature, keywords or IP allow-list): check ROBOT_SECRET and the robot's settings"),
  ROBOT_BLOCKED: entry(503, false, 'DingTalk blocked the robot for sending too often (about 10 minutes)'),
  ROBOT_SEND_FAILED: entry(502, false, 'a robot message could not be delivered (network, HTTP status, unexpected answer)'),
  ROBOT_BUDGET_EXHAUSTED: entry(503, false, "the robot's 20 messages/minute are used up; nothing was sent"),
  ROBOT_MONTHLY_BUDGET_EXHAUSTED: entry(429, true, "the month's robot messages (ROBOT_MONTHLY_MESSAGE_BUDGET) are used up: no report is sent until next month"),
  ROBOT_QUEUED: entry(503, true, "a report waits for the robot's budget and goes out coalesced with others"),
  ROBOT_CLOSED: entry(503, true, 'the reporter is shut down; the report was not sent'),
  ROBOT_OPTIONS_INVALID: entry(500, false, 'the robot client or reporter was given an invalid option or message (a bug)'),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

/** The catalogue as the README's markdown table (`npm run docs:errors` writes it; a test checks it). */
export function errorCodesMarkdown(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, i]) => `| \`${code}\` | ${i.status} | ${i.expose ? 'yes' : 'no'} | ${i.meaning.replace(/\|/g, '\\|')} |`);
  return ['| code | HTTP | shown to callers | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
