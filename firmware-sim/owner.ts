import { intBetween, pick, type Rng } from './random.ts';

/**
 * The registered owner, as the machine's setup app stored it. It lives on the device only: compliant
 * firmware never publishes it; the leaky profile does, to show the server refusing it.
 */
export interface Owner {
  name: string;
  email: string;
  phone: string;
}

const NAMES: Readonly<Record<string, { given: readonly string[]; family: readonly string[]; phonePrefix: string }>> = {
  eu: {
    given: ['Anna', 'Lukas', 'Sofia', 'Mateo', 'Emma', 'Jonas', 'Chiara', 'Louis', 'Marta', 'Pieter'],
    family: ['Schmidt', 'Dubois', 'García', 'Rossi', 'de Vries', 'Novak', 'Müller', 'Bernard', 'Kowalski', 'Huber'],
    phonePrefix: '+49 151',
  },
  us: {
    given: ['Olivia', 'Liam', 'Ava', 'Noah', 'Mia', 'Ethan', 'Harper', 'James', 'Ella', 'Lucas'],
    family: ['Johnson', 'Smith', 'Williams', 'Brown', 'Garcia', 'Miller', 'Davis', 'Martinez', 'Lee', 'Walker'],
    phonePrefix: '+1 415',
  },
  cn: {
    given: ['Wei', 'Fang', 'Jing', 'Lei', 'Min', 'Yan', 'Hao', 'Xin', 'Jun', 'Li'],
    family: ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou'],
    phonePrefix: '+86 138',
  },
};

export function generateOwner(rng: Rng, region: string): Owner {
  const names = NAMES[region] ?? NAMES.us!;
  const given = pick(rng, names.given);
  const family = pick(rng, names.family);
  const local = `${given}.${family}`
    .toLowerCase()
    .normalize('NFD')
    .replace(/[^a-z.]/g, '');
  return {
    name: `${given} ${family}`,
    email: `${local}${intBetween(rng, 1, 99)}@example.com`,
    phone: `${names.phonePrefix} ${intBetween(rng, 1000000, 9999999)}`,
  };
}
