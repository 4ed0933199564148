// Names of constraints that handlers map to protocol errors (see migrations/0001_init.sql).
export const Constraints = {
  /** Raised by the reactions trigger: a 6th different emoji for one (post, user). */
  reactionLimit: 'reactions_per_user_post_limit',
  usersHandleUnique: 'users_handle_lower_key',
  usersEmailUnique: 'users_email_lower_key',
  usersHandleFormat: 'users_handle_format',
  playersRegistrationCodeUnique: 'players_registration_code_key',
  playersCertSerialUnique: 'players_cert_serial_key',
  viewEventsDedupe: 'view_events_dedupe_key_key',
  followsNotSelf: 'follows_not_self',
  commentsParent: 'comments_parent_fk',
} as const;
