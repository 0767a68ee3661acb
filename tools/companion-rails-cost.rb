# frozen_string_literal: true

# What MemTrack::Rack costs inside a real Rails request (make bench, "ruby"):
#
#   ruby -Iruby/lib tools/companion-rails-cost.rb [requests]
#
# Loads the Rails test app (t/apps/rails, production, its sqlite database in
# a temporary directory) without the companion in its middleware, then
# calls GET /items (three queries, query cache on) through Rails alone and
# through MemTrack::Rack wrapped around it, interleaved one by one, and
# prints the median and p99 of each and of the difference in thread CPU
# microseconds. Unlike ruby/bench/cost.rb's trivial app, this includes what
# only Rails has: the ActiveRecord query cache and the controller names.
require "tmpdir"

N = Integer(ARGV[0] || 5_000)
ENV["MT_NO_MIDDLEWARE"] = "1"
ENV["RAILS_ENV"] = "production"
ENV["MT_APP_DATA"] = Dir.mktmpdir("mt-rails-cost-")
at_exit { FileUtils.remove_entry(ENV["MT_APP_DATA"]) }

require_relative "../t/apps/rails/config/environment"
require "memtrack/rack"
require "rack/mock"

def clock
  Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :float_microsecond)
end

def time_one(app)
  env = Rack::MockRequest.env_for("/items")
  t = clock
  _status, _headers, body = app.call(env)
  body.each { |_| nil }
  body.close if body.respond_to?(:close)
  clock - t
end

def pct(sorted, q)
  sorted[[(sorted.size * q).ceil - 1, 0].max]
end

rails = Rails.application
with_mw = MemTrack::Rack.new(rails)
2_000.times { time_one(rails); time_one(with_mw) } # warm up
bare = []
with = []
N.times do
  bare << time_one(rails)
  with << time_one(with_mw)
end
diff = with.zip(bare).map { |w, b| w - b }.sort
bare.sort!
with.sort!
puts "Rails #{Rails.version}, GET /items, #{N} requests each, thread CPU time"
printf("%-22s bare %6.1f/%7.1f  with %6.1f/%7.1f  cost %5.1f/%6.1f us (median/p99)\n",
       "smaps every 100", pct(bare, 0.5), pct(bare, 0.99), pct(with, 0.5),
       pct(with, 0.99), pct(diff, 0.5), pct(diff, 0.99))
warn "companion errors: #{with_mw.errors} (#{with_mw.last_error})" if with_mw.errors.positive?
