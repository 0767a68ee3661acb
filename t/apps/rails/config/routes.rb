# frozen_string_literal: true

Rails.application.routes.draw do
  resources :items, only: %i[index show]
  get "pid" => "items#pid"
  get "retain" => "items#retain"
  get "leak" => "items#leak"
end
