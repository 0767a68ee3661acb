# frozen_string_literal: true

# What MemTrack::Rack costs per request, measured in Ruby:
#
#   ruby -Iruby/lib ruby/bench/cost.rb [requests]
#
# Calls a trivial Rack app directly and through the middleware, interleaved
# one by one so both see the same GC and cache state, and prints the median
# and p99 of each and of the difference, in microseconds. Three setups: the
# per-request path alone (smaps never), the default (smaps_rollup every
# 100th request), and smaps_rollup on every request (what
# "X-MemTrack-Want: smaps" costs when the module asks).
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "memtrack/rack"

N = Integer(ARGV[0] || 20_000)
APP = ->(_env) { [200, { "Content-Type" => "text/plain" }, ["ok"]] }

def env
  { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/hello", "QUERY_STRING" => "",
    "SERVER_NAME" => "127.0.0.1", "SERVER_PORT" => "80", "rack.input" => nil }
end

def clock
  Process.clock_gettime(Process::CLOCK_MONOTONIC, :float_microsecond)
end

def time_one(app)
  e = env
  t = clock
  app.call(e)
  clock - t
end

def pct(sorted, q)
  sorted[[(sorted.size * q).ceil - 1, 0].max]
end

def run(label, mw)
  2_000.times { time_one(APP); time_one(mw) } # warm up
  bare = []
  with = []
  N.times do
    bare << time_one(APP)
    with << time_one(mw)
  end
  diff = with.zip(bare).map { |w, b| w - b }.sort
  bare.sort!
  with.sort!
  printf("%-22s bare %6.2f/%7.2f  with %6.2f/%7.2f  cost %6.2f/%7.2f us (median/p99)\n",
         label, pct(bare, 0.5), pct(bare, 0.99), pct(with, 0.5), pct(with, 0.99),
         pct(diff, 0.5), pct(diff, 0.99))
end

puts "ruby #{RUBY_VERSION}, #{N} requests per setup, pid #{Process.pid}"
run("smaps never", MemTrack::Rack.new(APP, smaps_every: 0))
run("smaps every 100", MemTrack::Rack.new(APP, smaps_every: 100))
run("smaps every request", MemTrack::Rack.new(APP, smaps_every: 1))
