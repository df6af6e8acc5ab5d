import { COMMAND_NAMES } from '../../schema/commands.ts';
import { CONTROL_TOPICS } from '../../schema/control.ts';
import { EVENT_KINDS } from '../../schema/events.ts';
import { topics } from '../../schema/topics.ts';

/**
 * The ACL file Mosquitto enforces for brewtel: the rights of broker/acl-policy.ts written as
 * Mosquitto rules. With an acl_file Mosquitto refuses every topic no line grants (deny by default),
 * `$SYS/` included, and checks reads when it delivers a message, against the message's topic, so a
 * subscription to `#` by a device still receives only its own consent record and commands.
 *
 *   devices (pattern lines, %u = the device id, which is its username and, with
 *   use_username_as_clientid, its client id)
 *           write  coffee/v1/%u/evt/{kind} for each event kind, coffee/v1/%u/state and
 *                  coffee/v1/%u/cmd-result/{name} for each command
 *           read   coffee/v1/%u/consent and coffee/v1/%u/cmd/{name} for each command
 *   service accounts (user blocks)
 *           read   coffee/v1/+/evt/+ (also through $share/<group>/), coffee/v1/+/state and
 *                  coffee/v1/+/cmd-result/+
 *           write  coffee/v1/+/consent, coffee/v1/+/cmd/{name}, coffee/v1/+/state (the empty
 *                  retained message that clears an erased device's state) and the control topics
 *
 * What Mosquitto's ACL file cannot say, and our broker does: the retain flag (devices may retain
 * only their state; ingest may put only an empty retained state) and MQTT 5 response topics.
 * Pattern lines apply to service accounts too, granting them `coffee/v1/svc-…/…`, topics outside
 * the grammar that ingest refuses (device ids never start with svc-).
 */
export interface AclAccounts {
  /** Usernames of the server's service accounts (ingest and its outbound connection). */
  services: readonly string[];
  /** The $share group ingest takes events through, when several server processes split them. */
  shareGroup?: string | undefined;
}

const ROOT = 'coffee/v1';

export function renderAclFile({ services, shareGroup }: AclAccounts): string {
  const lines = ['# Written by brewtel at every server start: edits here are overwritten.', ''];
  for (const user of services) {
    lines.push(`user ${user}`);
    lines.push(`topic read ${topics.filters.allEvents}`);
    if (shareGroup) lines.push(`topic read $share/${shareGroup}/${topics.filters.allEvents}`);
    lines.push(`topic read ${topics.filters.allStates}`, `topic read ${topics.filters.allCommandResults}`);
    lines.push(`topic write ${ROOT}/+/consent`, `topic write ${ROOT}/+/state`);
    for (const name of COMMAND_NAMES) lines.push(`topic write ${ROOT}/+/cmd/${name}`);
    for (const control of Object.values(CONTROL_TOPICS)) lines.push(`topic write ${control}`);
    lines.push('');
  }
  // Patterns apply to every user, wherever they stand in the file.
  for (const kind of EVENT_KINDS) lines.push(`pattern write ${ROOT}/%u/evt/${kind}`);
  lines.push(`pattern write ${ROOT}/%u/state`);
  for (const name of COMMAND_NAMES) lines.push(`pattern write ${ROOT}/%u/cmd-result/${name}`);
  lines.push(`pattern read ${ROOT}/%u/consent`);
  for (const name of COMMAND_NAMES) lines.push(`pattern read ${ROOT}/%u/cmd/${name}`);
  return `${lines.join('\n')}\n`;
}
