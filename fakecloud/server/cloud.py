"""ARM's cloud metadata (``GET /metadata/endpoints?api-version=...``) for the server: the
endpoints of a cloud whose Resource Manager and login host are the server itself, so that
tools that discover a cloud from its ARM endpoint (``az cloud register
--endpoint-resource-manager``, ``ARM_CLOUD_METADATA_URL``, Terraform's ``metadata_host``)
send everything there. As ARM answers, by api-version: 2022-09-01 and later one cloud's
document, 2019-05-01 to 2022-08-31 a list of clouds (this one), earlier the short
``...Endpoint`` form. Tokens are asked for ARM's own audiences; the fake takes any token.
"""

from __future__ import annotations

from typing import Any

NAME = "fakecloud"
AUDIENCES = ["https://management.core.windows.net/", "https://management.azure.com/"]
SINGLE_DOCUMENT_SINCE = "2022-09-01"
LIST_SINCE = "2019-05-01"
PORTAL, GALLERY = "https://portal.azure.com/", "https://gallery.azure.com/"


def metadata(origin: str, api_version: str) -> Any:
    """The metadata document ``api_version`` asks for, of the cloud served at ``origin``."""
    if api_version < LIST_SINCE:
        return {"galleryEndpoint": GALLERY, "graphEndpoint": "https://graph.windows.net/",
                "portalEndpoint": PORTAL,
                "authentication": {"loginEndpoint": f"{origin}/", "audiences": AUDIENCES}}
    cloud = _cloud(origin)
    return cloud if api_version >= SINGLE_DOCUMENT_SINCE else [cloud]


def _cloud(origin: str) -> dict[str, Any]:
    return {
        "name": NAME,
        "portal": PORTAL,
        "resourceManager": f"{origin}/",
        "authentication": {"loginEndpoint": f"{origin}/", "audiences": AUDIENCES,
                           "tenant": "common", "identityProvider": "AAD"},
        "gallery": GALLERY,
        "graph": "https://graph.windows.net/",
        "graphAudience": "https://graph.windows.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/"
                           "master/arm-compute/quickstart-templates/aliases.json",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "suffixes": {"storage": "core.windows.net", "keyVaultDns": "vault.azure.net",
                     "sqlServerHostname": "database.windows.net",
                     "acrLoginServer": "azurecr.io", "mhsmDns": "managedhsm.azure.net",
                     "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
                     "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net"},
    }
