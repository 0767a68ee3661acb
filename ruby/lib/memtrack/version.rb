# frozen_string_literal: true

module MemTrack
  VERSION = "0.1.0"
  # The X-MemTrack protocol version this gem speaks (include/mt_proto.h).
  PROTOCOL_VERSION = 1
end
