// The MQTT workers' environment settings: defaults, overrides, and one error naming every bad variable.
import { describe, expect, it } from 'vitest';
import { loadMqttSettings, MqttSettingsError } from '../../src/mqtt/settings.js';

describe('loadMqttSettings', () => {
  it('has defaults (3 minutes of silence, a sweep every 30 s) and reads overrides', () => {
    expect(loadMqttSettings({})).toEqual({
      presenceSweepSeconds: 30, presenceTimeoutSeconds: 180, statusBatchMs: 20, outboxPollSeconds: 5, housekeepingSeconds: 600,
    });
    expect(loadMqttSettings({ PRESENCE_SWEEP_SECONDS: '2', PRESENCE_TIMEOUT_SECONDS: ' 5 ', STATUS_BATCH_MS: '0' }))
      .toMatchObject({ presenceSweepSeconds: 2, presenceTimeoutSeconds: 5, statusBatchMs: 0 });
  });

  it('names every bad value at once', () => {
    let error: unknown;
    try {
      loadMqttSettings({ PRESENCE_SWEEP_SECONDS: 'soon', PRESENCE_TIMEOUT_SECONDS: '0', OUTBOX_POLL_SECONDS: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MqttSettingsError);
    const problems = (error as MqttSettingsError).problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toBe('PRESENCE_SWEEP_SECONDS must be an integer between 1 and 3600 (got "soon")');
    expect(problems[1]).toMatch(/^PRESENCE_TIMEOUT_SECONDS /);
    expect(problems[2]).toMatch(/^OUTBOX_POLL_SECONDS /);
  });
});
