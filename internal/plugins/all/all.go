// Package all links every built-in plugin into the binary: importing it
// runs each plugin package's registration.
package all

import (
	_ "github.com/sluicegw/sluice/internal/plugins/acl"
	_ "github.com/sluicegw/sluice/internal/plugins/aibudget"
	_ "github.com/sluicegw/sluice/internal/plugins/airatelimit"
	_ "github.com/sluicegw/sluice/internal/plugins/basicauth"
	_ "github.com/sluicegw/sluice/internal/plugins/cors"
	_ "github.com/sluicegw/sluice/internal/plugins/iprestrict"
	_ "github.com/sluicegw/sluice/internal/plugins/jwtauth"
	_ "github.com/sluicegw/sluice/internal/plugins/keyauth"
	_ "github.com/sluicegw/sluice/internal/plugins/promptguard"
	_ "github.com/sluicegw/sluice/internal/plugins/ratelimit"
	_ "github.com/sluicegw/sluice/internal/plugins/sizelimit"
	_ "github.com/sluicegw/sluice/internal/plugins/termination"
	_ "github.com/sluicegw/sluice/internal/plugins/transform"
)
