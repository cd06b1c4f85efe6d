from django.urls import path

from bench.views import baseline_insert
from oneclick.urls import urlpatterns as app_urlpatterns

urlpatterns = [path("bench/insert", baseline_insert), *app_urlpatterns]
