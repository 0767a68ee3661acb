# frozen_string_literal: true

# What tools/companion-probe-cost.rb and tools/companion-heap-cost.rb share:
# the Rails test app (t/apps/rails, production, its sqlite database in a
# temporary directory removed at exit), the sizes to measure (ARGV, in MB;
# default 100 300), a ballast that grows the process to a size, and one
# request through MemTrack::Rack. Loaded with require_relative, before the
# tool's own code.
require "tmpdir"
require "fileutils"

SIZES = (ARGV.empty? ? %w[100 300] : ARGV).map { |s| Integer(s, 10) }
ENV["MT_NO_MIDDLEWARE"] = "1"
ENV["RAILS_ENV"] = "production"
ENV["MT_APP_DATA"] = Dir.mktmpdir("mt-#{File.basename($PROGRAM_NAME, '.rb')}-")
at_exit { FileUtils.remove_entry(ENV["MT_APP_DATA"]) }

require_relative "../t/apps/rails/config/environment"
require "memtrack/rack"
require "rack/mock"

def rss_mb
  File.read("/proc/self/statm").split[1].to_i * Etc.sysconf(Etc::SC_PAGESIZE) / 1e6
end

def now_us
  Process.clock_gettime(Process::CLOCK_MONOTONIC, :float_microsecond)
end

# Records shaped like an app's own data (a hash, three strings, an array and
# a time: about six objects and 300 bytes each) until RSS reaches mb.
BALLAST = []
def grow_to(mb)
  i = BALLAST.size
  while rss_mb < mb
    10_000.times do
      BALLAST << { id: i, name: "record #{i} #{'x' * 40}", email: "user#{i}@example.org",
                   tags: [i.to_s, "t#{i % 97}"], at: Time.at(i) }
      i += 1
    end
  end
end

# One request through the middleware; its X-MemTrack header.
def request(mw, path, want = nil)
  env = Rack::MockRequest.env_for(path)
  env["HTTP_X_MEMTRACK_WANT"] = want if want
  _status, headers, body = mw.call(env)
  body.each { |_| nil }
  body.close if body.respond_to?(:close)
  headers[MemTrack::Rack::HEADER]
end
