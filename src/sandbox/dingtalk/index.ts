export { startDingtalkSimulator } from './server.js';
export type { DingtalkSimulator, DingtalkSimulatorOptions, SimRequestRecord, YidaTarget } from './server.js';
export { DINGTALK_APIS, defaultKnobs, type DingtalkApi, type DingtalkKnobs } from './knobs.js';
export { robotSign, type RobotConfig, type RobotMessage } from './robot.js';
export type { SimInstance } from './instances.js';
