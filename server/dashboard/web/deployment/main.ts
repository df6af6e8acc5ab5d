/// <reference lib="dom" />
import { h, render } from 'preact';
import { DeploymentApp } from './app.ts';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(h(DeploymentApp, {}), root);
}
