/**
 * The MQTT 5 reason codes our broker sends itself (MQTT 5.0 §2.4, table 2-6), and the MQTT 3.1.1
 * CONNACK return code each refusal falls back to for a 3.1.1 client, which has no other way to be
 * told (3.1.1 §3.2.2.3). aedes 2.0.0-beta.1 sends its own codes for what it decides alone
 * (0x8B shutting down, 0x8E session taken over, 0x94 topic alias invalid, 0x9E shared subscriptions).
 */
export const REASON = {
  /** CONNACK: the client identifier is valid UTF-8 but not allowed (§3.2.2.2). */
  clientIdentifierNotValid: 0x85,
  /** CONNACK: the user name or password is wrong (a device's secret, a service account's password). */
  badUserNameOrPassword: 0x86,
  /** CONNACK, PUBACK [MQTT-3.4.2-1], SUBACK: not allowed (the topic policy, missing credentials). */
  notAuthorized: 0x87,
  /** CONNACK: the device registry cannot be asked. */
  serverUnavailable: 0x88,
  /** CONNACK: too many clients, or too many logins being checked; try again later. */
  serverBusy: 0x89,
  /** DISCONNECT: a client silent for 1.5 x its keepalive [MQTT-3.1.2-22]. */
  keepAliveTimeout: 0x8d,
  /** DISCONNECT: another connection took the session over [MQTT-3.1.4-3] (aedes sends it on one node, we across nodes). */
  sessionTakenOver: 0x8e,
  /** DISCONNECT: more QoS 2 publishes awaiting PUBREL than the Receive Maximum we announced [MQTT-3.3.4-7]. */
  receiveMaximumExceeded: 0x93,
  /** DISCONNECT: a packet above the Maximum Packet Size we announced [MQTT-3.2.2-15]. */
  packetTooLarge: 0x95,
  /** DISCONNECT: a client publishing faster than its rate. */
  messageRateTooHigh: 0x96,
  /** DISCONNECT: an administrative limit (bytes held for PUBREL, deliveries left unacknowledged). */
  quotaExceeded: 0x97,
  /** DISCONNECT: the device's credentials were revoked (it was erased). */
  administrativeAction: 0x98,
  /** CONNACK with a Server Reference: connect to that server instead (§4.11). */
  useAnotherServer: 0x9c,
  /** CONNACK: the login-flood limits refuse this source for a while. */
  connectionRateExceeded: 0x9f,
  /** DISCONNECT: a packet the engine cannot serve safely (see docs/conformance.md). */
  implementationSpecificError: 0x83,
  /** DISCONNECT: the client broke the protocol (e.g. a Subscription Identifier in its PUBLISH [MQTT-3.3.4-6]). */
  protocolError: 0x82,
} as const;

/** The MQTT 3.1.1 CONNACK refusal codes (3.1.1 table 3.1). */
export const CONNACK = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;
export type ConnackRefusal = (typeof CONNACK)[keyof typeof CONNACK];

/** The MQTT 5 reason code aedes itself sends for each 3.1.1 refusal code it is handed. */
export const V5_OF_CONNACK: Readonly<Record<ConnackRefusal, number>> = {
  [CONNACK.identifierRejected]: REASON.clientIdentifierNotValid,
  [CONNACK.serverUnavailable]: REASON.serverUnavailable,
  [CONNACK.badUsernameOrPassword]: REASON.badUserNameOrPassword,
  [CONNACK.notAuthorized]: REASON.notAuthorized,
};

/**
 * Reason strings for DISCONNECTs that aedes sends without one (takeover, shutdown, packet too large,
 * topic alias invalid). Paho for Python 1.6 reads a DISCONNECT's reason code only when properties
 * follow it (remaining length > 2), so a bare one reaches its application as "connection lost".
 */
export const DISCONNECT_TEXT: Readonly<Record<number, string>> = {
  0x82: 'protocol error',
  0x8b: 'server shutting down',
  0x8e: 'session taken over',
  0x94: 'topic alias invalid',
  0x95: 'packet too large',
};
