#!/usr/bin/env ruby
# Tail memtrack:stream and print one line per request: time, method, url,
# memory growth, and THRESHOLD when the request crossed MemTrackThreshold.
#
#   REDIS_URL=redis://127.0.0.1:6379/0 ruby docs/redis_stream.rb
#   FROM=0 COUNT=100 ruby docs/redis_stream.rb    # the first 100 entries
#
# Needs the redis gem (Debian: ruby-redis).
require "redis"
require "json"

redis = Redis.new(url: ENV.fetch("REDIS_URL", "redis://127.0.0.1:6379/0"))
last_id = ENV.fetch("FROM", "$")           # "$": new entries only; "0": all
limit = Integer(ENV.fetch("COUNT", "0"))   # stop after COUNT records; 0: never
seen = 0

loop do
  # Blocks up to 5 s; an empty answer just means nothing new yet.
  reply = redis.xread("memtrack:stream", last_id, block: 5000, count: 100)
  (reply["memtrack:stream"] || []).each do |entry_id, fields|
    last_id = entry_id
    rec = JSON.parse(fields["record"])
    puts format("%s %-6s %-40s %+10d bytes %s%s", rec["time"], rec["method"],
                rec["url"], rec["memory_growth"] || 0, rec["request_id"],
                rec["threshold_exceeded"] ? " THRESHOLD" : "")
    $stdout.flush
    seen += 1
    exit 0 if limit.positive? && seen >= limit
  end
end
