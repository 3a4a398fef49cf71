"""Pure codecs over bytes: inventory files now, device payloads later."""
