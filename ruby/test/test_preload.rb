# frozen_string_literal: true

# The no-code-change route: RUBYOPT=-r.../memtrack/preload in a fresh ruby,
# as Passenger starts the app process with SetEnv RUBYOPT.
require_relative "helper"
require "open3"
require "rbconfig"
require "tmpdir"

class TestPreload < Minitest::Test
  include MemTrackTestHelper

  PRELOAD = File.expand_path("../lib/memtrack/preload", __dir__)

  def run_ruby(code, rubyopt: "-r#{PRELOAD}")
    out, err, st = Open3.capture3({ "RUBYOPT" => rubyopt }, RbConfig.ruby, "-e", code)
    assert st.success?, "ruby failed: #{err}"
    out
  end

  # Prints: class of the app, header value or "-", then extra lines.
  PROBE = <<~'RUBY'
    def probe(app, path = "/")
      env = Rack::MockRequest.env_for(path)
      _s, h, _b = app.call(env)
      puts app.class.name
      puts(h["X-MemTrack"] || "-")
    end
  RUBY

  def test_wraps_outermost_builder_when_rack_loads_later
    out = run_ruby(<<~RUBY)
      abort "rack loaded too early" if defined?(::Rack::Builder) && !::Rack.autoload?(:Builder)
      require "rack"; require "rack/mock"
      #{PROBE}
      app = Rack::Builder.new do
        map("/a") { run ->(e) { [200, {}, ["a"]] } }
        run ->(e) { [200, {}, ["root"]] }
      end.to_app
      probe(app, "/a")
      second = Rack::Builder.new { run ->(e) { [200, {}, ["x"]] } }.to_app
      puts second.class.name
    RUBY
    cls, header, second = out.lines.map(&:chomp)
    assert_equal "MemTrack::Rack", cls
    parse_strict(header)
    refute_equal "MemTrack::Rack", second, "a second app in the process was wrapped"
  end

  def test_wraps_when_rack_was_loaded_first
    out = run_ruby(<<~RUBY, rubyopt: "-rrack -r#{PRELOAD}")
      require "rack/mock"
      #{PROBE}
      probe(Rack::Builder.new { run ->(e) { [200, {}, ["x"]] } }.to_app)
    RUBY
    cls, header = out.lines.map(&:chomp)
    assert_equal "MemTrack::Rack", cls
    parse_strict(header)
  end

  def test_config_ru_that_also_uses_the_middleware_is_measured_once
    Dir.mktmpdir do |dir|
      ru = File.join(dir, "config.ru")
      File.write(ru, <<~RU)
        $LOAD_PATH.unshift #{File.expand_path('../lib', __dir__).inspect}
        require "memtrack/rack"
        use MemTrack::Rack
        run ->(env) { [200, {}, [env["memtrack.active"].inspect]] }
      RU
      out = run_ruby(<<~RUBY)
        require "rack"; require "rack/mock"
        #{PROBE}
        app, = Rack::Builder.parse_file(#{ru.inspect})
        probe(app)
        inner = app.instance_variable_get(:@app)
        puts inner.class.name, inner.instance_variable_get(:@requests)
      RUBY
      cls, header, inner, inner_requests = out.lines.map(&:chomp)
      assert_equal "MemTrack::Rack", cls
      assert_equal "MemTrack::Rack", inner
      assert_equal "0", inner_requests
      parse_strict(header)
    end
  end

  def test_process_without_rack_is_untouched
    out = run_ruby('puts defined?(::Rack::Builder).inspect, MemTrack::Preload.hooked')
    assert_equal "nil\nfalse\n", out
  end
end
