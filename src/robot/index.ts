/** DingTalk custom group robot: the signed client (20/min budget) and the Chinese run report. */
export { RobotClient, ROBOT_MESSAGES_PER_MINUTE, type RobotClientOptions, type RobotMarkdown } from './client.js';
export { RobotReporter, NoRobotReporter, createRobotReporter, type RobotReporterOptions, type ReportResult } from './reporter.js';
export { renderRunReport, renderCoalescedReport, escapeMarkdown, formatDuration, throughput, REPORT_PRODUCT, type ReportOptions, type RenderedReport, type CoalescedItem } from './report.js';
export { robotSignature, signedRobotUrl } from './sign.js';
export { SlidingWindowBudget } from './budget.js';
export { RobotRejectedError, RobotBlockedError, RobotSendError, RobotBudgetError, RobotOptionsError } from './errors.js';
